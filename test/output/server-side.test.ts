/** The server side's CPU row says which processes it covers (src/output/server-side.ts). */
import { describe, expect, it } from 'vitest';
import { serverSideRows } from '../../src/output/server-side.ts';
import type { ServerSide } from '../../src/report/schema.ts';

const base: ServerSide = { urls: ['http://a/metrics'], scrapes: 5, failures: 0, cpuSeconds: 1.5, cpuPercentMean: 30 };
const cpuRow = (s: ServerSide) => serverSideRows(s).find(([k]) => k === 'CPU')?.[1];

describe('server side rows: CPU coverage', () => {
  it('a cluster node: primary and workers with their seconds; two nodes; one process; only the answering process', () => {
    const proc = (url: string, role: string, pid: number, cpuSeconds: number) => ({ url, role, pid, cpuSeconds });
    expect(cpuRow({ ...base, cpuCoverage: 'node', processes: [proc('http://a/metrics', 'primary', 1, 0.2), proc('http://a/metrics', 'worker', 2, 0.5), proc('http://a/metrics', 'worker', 3, 0.8)] })).toBe('30% of a core (1.5 s), whole node: primary 0.2 s + 2 workers 1.3 s');
    const two = { ...base, urls: ['http://a/metrics', 'http://b/metrics'], cpuCoverage: 'node' as const };
    expect(cpuRow({ ...two, processes: [proc('http://a/metrics', 'single', 1, 0.7), proc('http://b/metrics', 'single', 2, 0.8)] })).toBe('30% of a core (1.5 s), whole nodes: 2 processes 1.5 s');
    expect(cpuRow({ ...base, cpuCoverage: 'node', processes: [proc('http://a/metrics', 'single', 1, 1.5)] })).toBe('30% of a core (1.5 s), whole node: process 1.5 s');
    expect(cpuRow({ ...base, cpuCoverage: 'process' })).toBe('30% of a core (1.5 s), the process that answered each scrape only');
    expect(cpuRow(base)).toBe('30% of a core (1.5 s)');
  });
});
