import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { COUNTER, ENGINE_METRICS, METRIC, closeCounter, errorCounter, isKnownCounterName } from '../../src/metrics/names.ts';

describe('the metric-name catalogue', () => {
  it('every latency metric is documented in the README, in the catalogue order', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const names = /Names: ([\s\S]*?)\n\n|Names: ([\s\S]*?)\n- /.exec(readme)?.[0] ?? '';
    const positions = ENGINE_METRICS.map((m) => names.indexOf(`\`${m}\``));
    expect(positions.every((p) => p >= 0), names).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(ENGINE_METRICS).toContain(METRIC.fanoutRemote);
  });

  it('names are unique and counter families build their names', () => {
    expect(new Set(Object.values(COUNTER)).size).toBe(Object.values(COUNTER).length);
    expect(errorCounter('ECONNRESET')).toBe('errors.ECONNRESET');
    expect(closeCounter(1006)).toBe('close.1006');
  });

  it('isKnownCounterName accepts exactly the errors/close families and connections./messages. counters', () => {
    const reference = (n: string) => /^(errors|close)(\.|$)|^(connections|messages)\./.test(n);
    const word = fc.stringMatching(/^[a-z_]{0,8}$/);
    fc.assert(
      fc.property(fc.constantFrom('errors', 'close', 'connections', 'messages', 'ledger', 'zombies', 'error', 'closed'), fc.option(word), (family, rest) => {
        const name = rest === null ? family : `${family}.${rest}`;
        expect(isKnownCounterName(name)).toBe(reference(name));
      }),
      { numRuns: 300 },
    );
  });
});
