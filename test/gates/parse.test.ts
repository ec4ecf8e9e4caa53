import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatGate, parseGate, parseGates, parseGatesFile, GateSyntaxError, type Gate, type GateOp } from '../../src/gates/index.ts';
import { EXIT } from '../../src/errors.ts';

describe('parseGate', () => {
  it.each([
    ['fanout.p99 < 50ms', { subject: { kind: 'metric', metric: 'fanout', stat: { kind: 'percentile', percentile: 99 } }, op: '<', threshold: 50_000, unit: 'ms' }],
    ['connect.p95 <= 200ms', { op: '<=', threshold: 200_000 }],
    ['fanout.p999<2s', { subject: { kind: 'metric', metric: 'fanout', stat: { kind: 'percentile', percentile: 99.9 } }, threshold: 2_000_000 }],
    ['fanout.p99.9 < 20ms', { subject: { kind: 'metric', metric: 'fanout', stat: { kind: 'percentile', percentile: 99.9 } } }],
    ['fanout.local.p9999 < 900us', { subject: { kind: 'metric', metric: 'fanout.local', stat: { kind: 'percentile', percentile: 99.99 } }, threshold: 900 }],
    ['rtt.mean < 300', { subject: { kind: 'metric', metric: 'rtt', stat: { kind: 'mean' } }, threshold: 300, unit: '' }],
    ['join.count >= 1_000', { subject: { kind: 'metric', metric: 'join', stat: { kind: 'count' } }, threshold: 1000 }],
    ['errors.rate < 0.1%', { subject: { kind: 'rate', name: 'errors' }, threshold: 0.001, unit: '%' }],
    ['deliveries.rate >= 100000/s', { subject: { kind: 'rate', name: 'deliveries' }, threshold: 100_000, unit: '/s' }],
    ['ledger.lost == 0', { subject: { kind: 'ledger', field: 'lost' }, op: '==', threshold: 0 }],
    ['close.1008 == 0', { subject: { kind: 'counter', name: 'close.1008' } }],
    ['errors.timeout < 10', { subject: { kind: 'counter', name: 'errors.timeout' } }],
    ['generator.saturated == false', { subject: { kind: 'saturated' }, threshold: false, value: false }],
    ['fanout.p99 regress < 10%', { regress: true, threshold: 0.1 }],
    ['deliveries.rate regress > -5%', { regress: true, op: '>', threshold: -0.05 }],
    ['  fanout.max   !=   1e3 us ', { subject: { kind: 'metric', metric: 'fanout', stat: { kind: 'max' } }, op: '!=', threshold: 1000, expr: 'fanout.max   !=   1e3 us' }],
  ] as Array<[string, Partial<Gate>]>)('%s', (expr, expected) => {
    expect(parseGate(expr)).toMatchObject(expected);
  });

  it.each([
    ['fanout.p99 << 50ms', 12, /expected a number/],
    ['fanout.p99 < 50 xs', 16, /unknown unit/],
    ['fanout.p99 < 50%', 15, /unit "%" does not apply/],
    ['errors.rate < 5ms', 15, /unit "ms" does not apply/],
    ['fanout < 5ms', 6, /expected "\." and a statistic/],
    ['fanout.p99 = 5ms', 11, /expected an operator/],
    ['fanout.p99 below 5ms', 11, /found "below"/],
    ['fanout.p200 < 5ms', 7, /out of range/],
    ['ledger.missing == 0', 7, /unknown ledger field/],
    ['generator.saturated < true', 20, /only with == or !=/],
    ['generator.saturated == 0', 23, /true or false/],
    ['generator.saturated regress < 5%', 20, /boolean/],
    ['fanout.p99 < true', 13, /expected a number/],
    ['fanout.p99 < 5ms extra', 17, /unexpected "e"/],
    ['fanout.p99 <', 12, /expected a number, found the end/],
    ['fan@out.p99 < 5ms', 3, /unexpected character "@"/],
    ['', 0, /empty gate/],
  ])('rejects %j at position %i', (expr, position, reason) => {
    let err: unknown;
    try {
      parseGate(expr);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GateSyntaxError);
    const g = err as GateSyntaxError;
    expect(g.code).toBe('WSB_ERR_GATE_SYNTAX');
    expect(g.exitCode).toBe(EXIT.usage);
    expect(g.position).toBe(position);
    expect(g.message).toMatch(reason);
    expect(g.message).toContain(`at column ${position + 1}`);
    // The caret sits under the offending character.
    const [, shown, caret] = g.message.split('\n');
    expect(caret!.indexOf('^') - 2).toBe(position);
    expect(shown!.slice(2)).toBe(expr.trim());
    expect(g.hint).toMatch(/fanout\.p99 < 50ms/);
  });
});

describe('parseGates and parseGatesFile', () => {
  it('reports every problem at once', () => {
    const { gates, errors } = parseGates(['fanout.p99 < 50ms', 'bad', 'errors.rate < 1ms', 'ledger.lost == 0']);
    expect(gates.map((g) => g.expr)).toEqual(['fanout.p99 < 50ms', 'ledger.lost == 0']);
    expect(errors).toHaveLength(2);
  });

  it('reads one gate per line with comments, naming the line of a problem', () => {
    const text = '# CI gates\nfanout.p99 < 50ms   # objective\n\n  errors.rate < 0.1%\nfanout.p99 <<\n';
    const { gates, errors } = parseGatesFile(text);
    expect(gates.map((g) => g.expr)).toEqual(['fanout.p99 < 50ms', 'errors.rate < 0.1%']);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/^line 5: Invalid gate "fanout.p99 <<"/);
  });

  it('reads a JSON array', () => {
    expect(parseGatesFile('["fanout.p99 < 50ms", "ledger.lost == 0"]').gates).toHaveLength(2);
    const bad = parseGatesFile('["fanout.p99 < 50ms", 3, "x"]');
    expect(bad.gates).toHaveLength(1);
    expect(bad.errors.map((e) => e.message.split(':')[0])).toEqual(['Gates file', 'item 3']);
    expect(parseGatesFile('[oops').errors[0]!.message).toMatch(/not valid JSON/);
  });
});

// ---- Property tests ----

const segment = fc.stringMatching(/^[a-z][a-z0-9_-]{0,8}$/);
const metricName = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('.'))
  .filter((m) => !['generator', 'ledger', 'errors', 'deliveries', 'messages', 'connects'].includes(m.split('.')[0]!));
const ops = fc.constantFrom<GateOp>('<', '<=', '>', '>=', '==', '!=');
const num = fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 0, max: 99_999 }).map((x) => x / 1000));
const percentile = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 99_999 }).map((x) => x / 1000));

type GateShape = Omit<Gate, 'expr' | 'threshold'>;

const timeGate: fc.Arbitrary<GateShape> = fc.record({
  subject: fc.record({
    kind: fc.constant('metric' as const),
    metric: metricName,
    stat: fc.oneof(percentile.map((p) => ({ kind: 'percentile' as const, percentile: p })), fc.constantFrom('min', 'max', 'mean').map((k) => ({ kind: k as 'min' | 'max' | 'mean' }))),
  }),
  regress: fc.constant(false),
  op: ops,
  value: num,
  unit: fc.constantFrom('', 'us', 'ms', 's' as const),
});
const otherGate: fc.Arbitrary<GateShape> = fc.oneof(
  fc.record({ subject: fc.constant({ kind: 'rate' as const, name: 'errors' as const }), regress: fc.constant(false), op: ops, value: num, unit: fc.constantFrom('', '%' as const) }),
  fc.record({ subject: fc.constantFrom('deliveries', 'messages', 'connects').map((name) => ({ kind: 'rate' as const, name: name as 'deliveries' })), regress: fc.constant(false), op: ops, value: num, unit: fc.constantFrom('', '/s' as const) }),
  fc.record({ subject: fc.constantFrom('expected', 'delivered', 'lost', 'duplicated', 'reordered').map((f) => ({ kind: 'ledger' as const, field: f as 'lost' })), regress: fc.constant(false), op: ops, value: num, unit: fc.constant('' as const) }),
  // Counter suffixes that look like statistics (p0a, rate, max...) are read as statistics, so leave them out.
  fc.record({ subject: fc.tuple(fc.constantFrom('errors', 'close'), fc.stringMatching(/^[a-z0-9]{1,6}$/)).filter(([, b]) => !/^(p\d|rate$|min$|max$|mean$|count$)/.test(b)).map(([a, b]) => ({ kind: 'counter' as const, name: `${a}.${b}` })), regress: fc.constant(false), op: ops, value: num, unit: fc.constant('' as const) }),
  fc.record({ subject: fc.constant({ kind: 'saturated' as const }), regress: fc.constant(false), op: fc.constantFrom<GateOp>('==', '!='), value: fc.boolean(), unit: fc.constant('' as const) }),
  fc.record({ subject: fc.constant({ kind: 'metric' as const, metric: 'fanout', stat: { kind: 'percentile' as const, percentile: 99 } }), regress: fc.constant(true), op: ops, value: num, unit: fc.constantFrom('', '%' as const) }),
);
const anyGate = fc.oneof(timeGate, otherGate);

/** Insert whitespace between tokens in a random but valid way. */
const spacing = fc.constantFrom('', ' ', '  ', '\t');

describe('grammar properties', () => {
  it('formatted gates parse back to the same gate', () => {
    fc.assert(
      fc.property(anyGate, (shape) => {
        const text = formatGate(shape);
        const parsed = parseGate(text);
        const { expr: _e, threshold: _t, ...rest } = parsed;
        expect(rest).toEqual(shape);
        expect(formatGate(parsed)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('whitespace between tokens does not matter', () => {
    fc.assert(
      fc.property(anyGate, spacing, spacing, spacing, (shape, s1, s2, s3) => {
        const text = formatGate(shape);
        const m = /^(\S+) (regress )?(\S+) (.+)$/.exec(text)!;
        const spaced = `${m[1]}${s1 || (m[2] ? ' ' : '')}${m[2] ? `regress${s2 || ' '}` : ''}${m[3]}${s3}${m[4]}`;
        const { expr: _a, ...a } = parseGate(spaced);
        const { expr: _b, ...b } = parseGate(text);
        expect(a).toEqual(b);
      }),
      { numRuns: 200 },
    );
  });

  it('an illegal character anywhere is rejected at its position', () => {
    fc.assert(
      fc.property(anyGate, fc.nat(), fc.constantFrom('@', '$', '?', '~', '`', '*', '(', '#', ','), (shape, where, ch) => {
        const text = formatGate(shape);
        const at = where % (text.length + 1);
        const mutated = text.slice(0, at) + ch + text.slice(at);
        let err: unknown;
        try {
          parseGate(mutated);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(GateSyntaxError);
        expect((err as GateSyntaxError).position).toBe(at);
      }),
      { numRuns: 300 },
    );
  });

  it('structural mutations are rejected with a position inside the expression', () => {
    const mutations: Array<(t: string) => string> = [
      (t) => t.replace(/ (<=|>=|==|!=|<|>) /, ' =< '), // bad operator
      (t) => t.replace(/ (<=|>=|==|!=|<|>) /, ' '), // no operator
      (t) => t.replace(/ (\S+)$/, ''), // no value
      (t) => `${t}x`, // trailing junk
      (t) => t.replace(/\./, '..'), // empty segment
      (t) => t.replace(/ (<=|>=|==|!=|<|>) /, ' $1 $1 '), // doubled operator
    ];
    fc.assert(
      fc.property(anyGate, fc.integer({ min: 0, max: mutations.length - 1 }), (shape, i) => {
        const text = formatGate(shape);
        const mutated = mutations[i]!(text);
        fc.pre(mutated !== text);
        let err: unknown;
        try {
          parseGate(mutated);
        } catch (e) {
          err = e;
        }
        expect(err, mutated).toBeInstanceOf(GateSyntaxError);
        const pos = (err as GateSyntaxError).position;
        expect(pos).toBeGreaterThanOrEqual(0);
        expect(pos).toBeLessThanOrEqual(mutated.trim().length);
        expect((err as GateSyntaxError).message).toContain('^');
      }),
      { numRuns: 300 },
    );
  });
});
