/**
 * The one place that imports hdr-histogram-js: histogram bounds, construction,
 * encoding and decoding. Every other file of src/metrics goes through here.
 */
import * as hdr from 'hdr-histogram-js';
import type { Histogram, JsHistogram } from 'hdr-histogram-js';

export type { Histogram };

/** Lowest discernible latency, in microseconds (1). */
export const LOWEST_US = 1;
/** Highest trackable latency, in microseconds: one hour (3.6e9). Larger samples are clamped to it. */
export const HIGHEST_US = 3_600_000_000;
/** Significant decimal digits kept by every histogram (3: values within 0.1%). */
export const SIGNIFICANT_DIGITS = 3;

let wasmReady: boolean | undefined;

/**
 * Whether the WebAssembly histograms are usable in this thread (initialised once,
 * about 50 ms). Measured on Node 20 (`npm run bench -- metrics`, docs/BENCHMARKS.md):
 * WebAssembly 32-bit buckets record 2-5x faster than any JS bucket size (JS 16/32/64
 * bits all about 2-5 M/s, packed far slower), so recorders use WebAssembly and fall
 * back to JS 32-bit only if it cannot start.
 */
export function wasmAvailable(): boolean {
  if (wasmReady === undefined) {
    try {
      hdr.initWebAssemblySync();
      wasmReady = true;
    } catch {
      wasmReady = false;
    }
  }
  return wasmReady;
}

/** How a histogram stores its counts. */
export interface HistogramKind {
  /** Bits per bucket count: 32 for one-second intervals, 64 for run totals (counts may pass 2^32); the others only for benchmarks. */
  bitBucketSize: 8 | 16 | 32 | 64 | 'packed';
  /** WebAssembly histograms record fastest but must be `destroy()`ed; only recorders use them. */
  useWebAssembly: boolean;
}

/** The recorder's choice: WebAssembly 32-bit when available, else JS 32-bit. */
export function recorderKind(): HistogramKind {
  return { bitBucketSize: 32, useWebAssembly: wasmAvailable() };
}

/** For merges and totals: JS (nothing to free), 64-bit counts. */
export const TOTALS_KIND: HistogramKind = { bitBucketSize: 64, useWebAssembly: false };

/**
 * A new empty histogram with the project's bounds (1 us .. 1 h, 3 digits).
 * `autoResize` stays off for recorders (values are clamped before recording) and is
 * on for merge targets, so a snapshot from another tool with a wider range still adds.
 */
export function newHistogram(kind: HistogramKind = TOTALS_KIND, autoResize = false): Histogram {
  return hdr.build({
    bitBucketSize: kind.bitBucketSize,
    useWebAssembly: kind.useWebAssembly,
    autoResize,
    lowestDiscernibleValue: LOWEST_US,
    highestTrackableValue: HIGHEST_US,
    numberOfSignificantValueDigits: SIGNIFICANT_DIGITS,
  });
}

/** Compressed base64 encoding (HdrHistogram V2 format, interoperable with the Java and Go ports). */
export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Marks the uncompressed snapshot encoding: `raw:` + base64 of the HdrHistogram V2 (uncompressed) bytes. */
export const RAW_SNAPSHOT_PREFIX = 'raw:';

/**
 * A worker's once-a-second histogram for the coordinator (IPC, never written to a report): the
 * uncompressed V2 bytes in base64, which skips the zlib stream the compressed form opens per
 * histogram. JS histograms (no WebAssembly) have no uncompressed encoder exported and use the
 * compressed form; `decodeHistogram` reads both.
 */
export function encodeSnapshotHistogram(h: Histogram): string {
  const encode = (h as { encode?: () => Uint8Array }).encode;
  if (typeof encode !== 'function') return encodeHistogram(h);
  return RAW_SNAPSHOT_PREFIX + Buffer.from(encode.call(h)).toString('base64');
}

/** Decode a histogram (compressed base64, or a raw snapshot) into a JS histogram with 64-bit counts. */
export function decodeHistogram(encoded: string): Histogram {
  if (encoded.startsWith(RAW_SNAPSHOT_PREFIX)) {
    // A copy: the decoder reads from offset 0 of its array, and Buffer.from may return a pooled slice.
    const bytes = new Uint8Array(Buffer.from(encoded.slice(RAW_SNAPSHOT_PREFIX.length), 'base64'));
    return (hdr.JsHistogram as unknown as { decode(data: Uint8Array, bits: 64, minBar: number): Histogram }).decode(bytes, 64, 0);
  }
  return hdr.decodeFromCompressedBase64(encoded, 64, false);
}

/**
 * The lowest value that falls into the same bucket as `value` (3 significant digits,
 * lowest 1): exact below 2048, then buckets of width 2^(floor(log2 v) - 10).
 */
export function lowestEquivalentUs(value: number): number {
  if (value < 2048) return value;
  let e = Math.floor(Math.log2(value));
  // Math.log2 may round across a power of two for large inputs.
  if (2 ** e > value) e -= 1;
  else if (2 ** (e + 1) <= value) e += 1;
  const width = 2 ** (e - 10);
  return Math.floor(value / width) * width;
}

/**
 * Cumulative counts at each bound, in microseconds: how many samples lie at or below
 * the bound (a sample counts when its bucket's highest equivalent value does, so a
 * bound may read up to 0.1% early). For Prometheus-style `le` buckets of a merged
 * histogram; `h` must be a JS histogram (decoded snapshots and merge targets are).
 */
export function cumulativeCounts(h: Histogram, boundsUs: readonly number[]): number[] {
  const out = new Array<number>(boundsUs.length).fill(0);
  const it = (h as JsHistogram).recordedValuesIterator;
  it.reset();
  let i = 0;
  let below = 0;
  while (it.hasNext()) {
    const v = it.next();
    while (i < boundsUs.length && v.valueIteratedTo > boundsUs[i]!) out[i++] = below;
    below += v.countAtValueIteratedTo;
  }
  while (i < boundsUs.length) out[i++] = below;
  return out;
}
