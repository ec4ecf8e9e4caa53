/**
 * `npm run bench [-- name ...]`: runs the benchmark sections in bench/*.bench.ts
 * (all, or the named ones) one after another and rewrites each one's section of
 * docs/BENCHMARKS.md in place, between `<!-- bench:NAME -->` markers, so running
 * one section keeps the others' figures.
 *
 * A section module's default export is `(ctx) => Promise<string>` returning Markdown.
 */
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

export interface BenchContext {
  /** How many repeated runs to take medians over (BENCH_RUNS, default 5). */
  runs: number;
  log(line: string): void;
}

const here = dirname(fileURLToPath(import.meta.url));
const docPath = join(here, '..', 'docs', 'BENCHMARKS.md');
const wanted = process.argv.slice(2);
const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort();
const names = files.map((f) => f.replace(/\.bench\.ts$/, ''));
for (const w of wanted) {
  if (!names.includes(w)) {
    console.error(`Unknown benchmark "${w}". Available: ${names.join(', ')}`);
    process.exit(2);
  }
}
const runs = Number(process.env.BENCH_RUNS ?? 5);
let doc = existsSync(docPath)
  ? readFileSync(docPath, 'utf8')
  : '# Benchmarks\n\nFigures written by `npm run bench` (sections rewritten in place). Medians of several runs on a shared, noisy 2-core machine; ratios are measured within one run.\n';

for (const name of names) {
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`== bench ${name}`);
  const mod = await import(join(here, `${name}.bench.ts`));
  const started = Date.now();
  const body: string = await mod.default({ runs, log: (l: string) => console.log(`  ${l}`) } satisfies BenchContext);
  const stamp = `_Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, BENCH_RUNS=${runs} (tables say how many runs each median is over), took ${Math.round((Date.now() - started) / 1000)} s. Command: \`npm run bench -- ${name}\`._`;
  const section = `<!-- bench:${name} -->\n${body.trim()}\n\n${stamp}\n<!-- /bench:${name} -->`;
  const re = new RegExp(`<!-- bench:${name} -->[\\s\\S]*?<!-- /bench:${name} -->`);
  doc = re.test(doc) ? doc.replace(re, section) : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(docPath, doc);
}
console.log(`wrote ${docPath}`);
process.exit(0);
