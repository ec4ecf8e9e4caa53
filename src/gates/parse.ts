/**
 * The gate grammar:
 *
 *   gate    := subject [ "regress" ] op value
 *   subject := segment ( "." segment )*        segment := [A-Za-z0-9_-]+, the first starting with a letter
 *   op      := "<" | "<=" | ">" | ">=" | "==" | "!="
 *   value   := "true" | "false" | number [ unit ]
 *   number  := [-] digits [ "." digits ] [ (e|E) [+-] digits ]   ("_" allowed between digits)
 *   unit    := "us" | "ms" | "s" | "%" | "/s"
 *
 * Whitespace between tokens is optional. Values use the units grammar of src/units:
 * a time without a unit is microseconds (the unit of `report.metrics`), a ratio
 * without `%` a fraction, a rate without `/s` per second. Stats: p50 p90 p95 p99 p999 p<N> (p99.9,
 * p75; digits only above 100 read as nines: p9999 = 99.99), min max mean count rate.
 */
import { WsbenchError, EXIT } from '../errors.ts';
import type { Ledger } from '../report/schema.ts';
import type { Gate, GateOp, GateStat, GateSubject, GateUnit, ServerField, SpecialRate } from './types.ts';
import { DURATION_UNIT_MS, shareFrom } from '../units/index.ts';

/** The error code of a gate that does not parse. */
export const GATE_SYNTAX_CODE = 'WSB_ERR_GATE_SYNTAX';

const HINT =
  'Gates read like `fanout.p99 < 50ms`, `connect.p95 <= 200ms`, `errors.rate < 0.1%`, `deliveries.rate >= 100000/s`, ' +
  '`ledger.lost == 0`, `fanout.p99 regress < 10%`, `generator.saturated == false`.';

/** A gate that does not parse; `position` is the 0-based index of the offending character. */
export class GateSyntaxError extends WsbenchError {
  readonly expr: string;
  readonly position: number;
  constructor(expr: string, position: number, reason: string, prefix = '') {
    const caret = `  ${expr}\n  ${' '.repeat(position)}^`;
    super(GATE_SYNTAX_CODE, `${prefix}Invalid gate "${expr}" at column ${position + 1}: ${reason}\n${caret}`, { hint: HINT, exitCode: EXIT.usage });
    this.name = 'GateSyntaxError';
    this.expr = expr;
    this.position = position;
  }
}

const LEDGER_FIELDS: ReadonlyArray<keyof Ledger> = ['expected', 'delivered', 'lost', 'duplicated', 'reordered'];
const SPECIAL_RATES: ReadonlyArray<SpecialRate> = ['errors', 'deliveries', 'messages', 'connects'];
const NAMED_STATS = ['min', 'max', 'mean', 'count', 'rate'] as const;
/** Microseconds per gate time unit; a bare number is microseconds. */
const TIME_UNITS_US: Record<string, number> = { '': 1, us: 1, ms: DURATION_UNIT_MS.ms * 1000, s: DURATION_UNIT_MS.s * 1000 };

class Cursor {
  pos = 0;
  constructor(
    readonly text: string,
    readonly prefix: string,
  ) {}
  fail(reason: string, at = this.pos): never {
    throw new GateSyntaxError(this.text, at, reason, this.prefix);
  }
  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }
  peek(n = 1): string {
    return this.text.slice(this.pos, this.pos + n);
  }
  atEnd(): boolean {
    return this.pos >= this.text.length;
  }
  /** Consume the longest match of `re` (anchored, sticky) or return undefined. */
  match(re: RegExp): string | undefined {
    const sticky = new RegExp(re.source, 'y');
    sticky.lastIndex = this.pos;
    const m = sticky.exec(this.text);
    if (!m || m[0] === '') return undefined;
    this.pos += m[0].length;
    return m[0];
  }
}

function describeAt(c: Cursor): string {
  return c.atEnd() ? 'the end' : `"${c.peek()}"`;
}

interface Segment {
  text: string;
  at: number;
}

function parseSubjectPath(c: Cursor): Segment[] {
  const segments: Segment[] = [];
  const first = c.pos;
  if (!/[A-Za-z]/.test(c.peek())) c.fail(`expected a metric name (e.g. fanout.p99), found ${describeAt(c)}`);
  for (;;) {
    const at = c.pos;
    const seg = c.match(/[A-Za-z0-9_-]+/);
    if (seg === undefined) c.fail(`expected a name after ".", found ${describeAt(c)}`);
    segments.push({ text: seg, at });
    if (c.peek() !== '.') break;
    c.pos++;
  }
  if (segments.length < 2) c.fail(`expected "." and a statistic after "${segments[0]?.text}" (e.g. ${segments[0]?.text}.p99)`, c.pos > first ? c.pos : first);
  return segments;
}

/** Parse a stat word, or return undefined when it is not one. Throws on a malformed percentile. */
function parseStat(c: Cursor, seg: Segment): GateStat | undefined {
  if ((NAMED_STATS as readonly string[]).includes(seg.text)) return { kind: seg.text as (typeof NAMED_STATS)[number] };
  if (!/^p\d/.test(seg.text)) return undefined;
  const digits = seg.text.slice(1);
  // A percentile with a fraction (p99.9) spans two path segments: p99 and 9.
  if (!/^\d+$/.test(digits)) c.fail(`malformed percentile "${seg.text}"; write p99 or p99.9`, seg.at);
  const n = Number(digits);
  if (n <= 100 && !(digits.length > 1 && digits.startsWith('0'))) return { kind: 'percentile', percentile: n };
  if (/^99\d+$/.test(digits)) return { kind: 'percentile', percentile: Number(`99.${digits.slice(2)}`) };
  return c.fail(`percentile "${seg.text}" is out of range; write p<0..100>, e.g. p99.9 (p999 and p9999 mean 99.9 and 99.99)`, seg.at);
}

function classify(c: Cursor, segments: Segment[]): { subject: GateSubject } {
  const path = segments.map((s) => s.text).join('.');
  const last = segments[segments.length - 1] as Segment;
  if (path === 'generator.saturated') return { subject: { kind: 'saturated' } };
  if (segments[0]?.text === 'generator') c.fail(`unknown generator field "${segments.slice(1).map((s) => s.text).join('.')}"; gates read generator.saturated`, segments[1]?.at);
  if (segments[0]?.text === 'server') {
    const field = segments.slice(1).map((s) => s.text).join('.');
    if (!(SERVER_FIELDS as readonly string[]).includes(field)) c.fail(`unknown server field "${field}"; one of ${SERVER_FIELDS.join(', ')} (the target's own memory, from --scrape)`, segments[1]?.at ?? last.at);
    return { subject: { kind: 'server', field: field as ServerField } };
  }
  if (segments[0]?.text === 'ledger') {
    if (segments.length !== 2 || !(LEDGER_FIELDS as readonly string[]).includes(last.text)) {
      c.fail(`unknown ledger field "${path.slice(7)}"; one of ${LEDGER_FIELDS.join(', ')}`, segments[1]?.at);
    }
    return { subject: { kind: 'ledger', field: last.text as Exclude<keyof Ledger, 'mode'> } };
  }
  if (segments.length === 2 && last.text === 'rate' && (SPECIAL_RATES as readonly string[]).includes(segments[0]?.text as string)) {
    return { subject: { kind: 'rate', name: segments[0]?.text as SpecialRate } };
  }
  // p99.9: the fraction is the last segment, the percentile word the one before.
  if (segments.length >= 3 && /^\d+$/.test(last.text)) {
    const pre = segments[segments.length - 2] as Segment;
    if (/^p\d+$/.test(pre.text)) {
      const percentile = Number(`${pre.text.slice(1)}.${last.text}`);
      if (!(percentile <= 100)) c.fail(`percentile "${pre.text}.${last.text}" is above 100`, pre.at);
      return { subject: { kind: 'metric', metric: segments.slice(0, -2).map((s) => s.text).join('.'), stat: { kind: 'percentile', percentile } } };
    }
  }
  const stat = parseStat(c, last);
  if (stat) return { subject: { kind: 'metric', metric: segments.slice(0, -1).map((s) => s.text).join('.'), stat } };
  return { subject: { kind: 'counter', name: path } };
}

function parseOp(c: Cursor): GateOp {
  const op = c.match(/<=|>=|==|!=|<|>/);
  if (op === undefined) c.fail(`expected an operator (< <= > >= == !=)${c.peek() === '=' ? '' : ' or "regress"'}, found ${describeAt(c)}`);
  return op as GateOp;
}

type ValueKind = 'time' | 'count' | 'perSec' | 'ratio' | 'boolean' | 'bytes' | 'bytesPerHour';

const SERVER_FIELDS: readonly ServerField[] = ['rss.slope', 'rss.peak', 'heap.slope'];
const BYTE_UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };

function valueKindOf(subject: GateSubject, regress: boolean): ValueKind {
  if (subject.kind === 'saturated') return 'boolean';
  if (regress) return 'ratio';
  if (subject.kind === 'server') return subject.field === 'rss.peak' ? 'bytes' : 'bytesPerHour';
  if (subject.kind === 'rate') return subject.name === 'errors' ? 'ratio' : 'perSec';
  if (subject.kind === 'metric') {
    if (subject.stat.kind === 'count') return 'count';
    if (subject.stat.kind === 'rate') return 'perSec';
    return 'time';
  }
  return 'count';
}

const UNITS_FOR: Record<ValueKind, GateUnit[]> = {
  time: ['', 'us', 'ms', 's'],
  count: [''],
  perSec: ['', '/s'],
  ratio: ['', '%'],
  boolean: [],
  bytes: ['', 'B', 'KiB', 'MiB', 'GiB'],
  bytesPerHour: ['', 'B/h', 'KiB/h', 'MiB/h', 'GiB/h'],
};

const KIND_WORDS: Record<ValueKind, string> = {
  time: 'a time (us, ms, s; none means us)',
  count: 'a plain count (no unit)',
  perSec: 'a rate (/s or none)',
  ratio: 'a ratio (% or a number from 0 to 1)',
  boolean: 'true or false',
  bytes: 'a size (B, KiB, MiB, GiB; none means bytes)',
  bytesPerHour: 'a growth per hour (B/h, KiB/h, MiB/h, GiB/h; none means bytes per hour)',
};

function toThreshold(value: number, unit: GateUnit): number {
  if (unit === '%') return shareFrom(value, unit);
  const bytes = BYTE_UNITS[unit.replace('/h', '')];
  if (bytes !== undefined) return value * bytes;
  const scale = TIME_UNITS_US[unit];
  return scale === undefined ? value : value * scale;
}

/** Parse one gate expression, throwing {@link GateSyntaxError} (code WSB_ERR_GATE_SYNTAX, exit 2) on the first problem. */
export function parseGate(expr: string, prefix = ''): Gate {
  const text = expr.trim();
  const c: Cursor = new Cursor(text, prefix);
  if (text === '') c.fail('empty gate');
  const stray = /[^A-Za-z0-9_.\-<>=!%/+\s]/.exec(text);
  if (stray) c.fail(`unexpected character "${stray[0]}"`, stray.index);
  const segments = parseSubjectPath(c);
  if (!c.atEnd() && !/[\s<>=!]/.test(c.peek())) c.fail(`unexpected ${describeAt(c)} after "${segments.map((x) => x.text).join('.')}"`);
  const { subject } = classify(c, segments);
  c.skipSpace();
  let regress = false;
  if (/[A-Za-z]/.test(c.peek())) {
    const at = c.pos;
    const word = c.match(/[A-Za-z]+/);
    if (word !== 'regress') c.fail(`expected an operator (< <= > >= == !=) or "regress", found "${word}"`, at);
    if (subject.kind === 'saturated') c.fail('generator.saturated is a boolean; it cannot regress', at);
    regress = true;
    c.skipSpace();
  }
  const opAt = c.pos;
  const op = parseOp(c);
  c.skipSpace();
  const kind = valueKindOf(subject, regress);
  const valueAt = c.pos;
  let value: number | boolean;
  let unit: GateUnit = '';
  const word = c.match(/[A-Za-z]+/);
  if (word !== undefined) {
    if (word !== 'true' && word !== 'false') c.fail(`expected ${kind === 'boolean' ? 'true or false' : 'a number'}, found "${word}"`, valueAt);
    if (kind !== 'boolean') c.fail(`expected a number: ${segments.map((s) => s.text).join('.')} is ${KIND_WORDS[kind]}`, valueAt);
    if (op !== '==' && op !== '!=') c.fail('a boolean compares only with == or !=', opAt);
    value = word === 'true';
  } else {
    const num = c.match(/-?\d(?:_?\d)*(?:\.\d(?:_?\d)*)?(?:[eE][+-]?\d+)?/);
    if (num === undefined) c.fail(`expected ${kind === 'boolean' ? 'true or false' : 'a number'}, found ${describeAt(c)}`);
    if (kind === 'boolean') c.fail('generator.saturated compares with true or false', valueAt);
    value = Number(num.replace(/_/g, ''));
    c.skipSpace();
    const unitAt = c.pos;
    const u = c.match(/[KMG]iB\/h|B\/h|[KMG]iB|B|us|ms|s|%|\/s/);
    if (u !== undefined) {
      // `5sec`, `10msx`: a unit must end the expression or be followed by space.
      if (/[A-Za-z0-9_]/.test(c.peek())) c.fail(`unknown unit; use one of us, ms, s, %, /s, B, KiB, MiB, GiB (sizes), MiB/h (growth)`, unitAt);
      unit = u as GateUnit;
      if (!UNITS_FOR[kind].includes(unit)) c.fail(`unit "${unit}" does not apply: ${regress ? 'regress' : segments.map((s) => s.text).join('.')} is ${KIND_WORDS[kind]}`, unitAt);
    } else if (/[A-Za-z/]/.test(c.peek())) {
      c.fail(`unknown unit; use one of us, ms, s, %, /s, B, KiB, MiB, GiB (sizes), MiB/h (growth)`, unitAt);
    }
  }
  c.skipSpace();
  if (!c.atEnd()) c.fail(`unexpected ${describeAt(c)} after the value`);
  return { expr: text, subject, regress, op, value, unit, threshold: typeof value === 'boolean' ? value : toThreshold(value, unit) };
}

/** Parse many gates, collecting every problem instead of stopping at the first. */
export function parseGates(exprs: string[]): { gates: Gate[]; errors: WsbenchError[] } {
  const gates: Gate[] = [];
  const errors: WsbenchError[] = [];
  for (const e of exprs) {
    try {
      gates.push(parseGate(e));
    } catch (err) {
      if (err instanceof WsbenchError) errors.push(err);
      else throw err;
    }
  }
  return { gates, errors };
}

/**
 * Parse a gates file: one gate per line, `#` starts a comment, blank lines ignored;
 * or, when the text starts with `[`, a JSON array of strings. Error messages name the line.
 */
export function parseGatesFile(text: string): { gates: Gate[]; errors: WsbenchError[] } {
  const gates: Gate[] = [];
  const errors: WsbenchError[] = [];
  if (text.trimStart().startsWith('[')) {
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch (e) {
      return { gates, errors: [new WsbenchError(GATE_SYNTAX_CODE, `Gates file is not valid JSON: ${(e as Error).message}`, { hint: 'Write a JSON array of strings, or one gate per line.' })] };
    }
    if (!Array.isArray(list)) list = [list];
    (list as unknown[]).forEach((item, i) => {
      if (typeof item !== 'string') {
        errors.push(new WsbenchError(GATE_SYNTAX_CODE, `Gates file: item ${i + 1} is not a string`, { hint: 'Write a JSON array of strings, e.g. ["fanout.p99 < 50ms"].' }));
        return;
      }
      collect(item, `item ${i + 1}: `);
    });
    return { gates, errors };
  }
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line !== '') collect(line, `line ${i + 1}: `);
  });
  return { gates, errors };

  function collect(expr: string, prefix: string): void {
    try {
      gates.push(parseGate(expr, prefix));
    } catch (err) {
      if (err instanceof WsbenchError) errors.push(err);
      else throw err;
    }
  }
}

function formatStat(stat: GateStat): string {
  return stat.kind === 'percentile' ? `p${stat.percentile}` : stat.kind;
}

/** The subject as gates write it, e.g. `fanout.p99.9`, `errors.rate`, `ledger.lost`. */
export function formatSubject(subject: GateSubject): string {
  switch (subject.kind) {
    case 'metric':
      return `${subject.metric}.${formatStat(subject.stat)}`;
    case 'rate':
      return `${subject.name}.rate`;
    case 'ledger':
      return `ledger.${subject.field}`;
    case 'counter':
      return subject.name;
    case 'saturated':
      return 'generator.saturated';
    case 'server':
      return `server.${subject.field}`;
  }
}

/** A canonical spelling of a gate; parsing it gives the same gate (up to `expr`). */
export function formatGate(gate: Omit<Gate, 'expr' | 'threshold'>): string {
  return `${formatSubject(gate.subject)} ${gate.regress ? 'regress ' : ''}${gate.op} ${String(gate.value)}${gate.unit}`;
}
