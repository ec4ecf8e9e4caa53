/**
 * Human formatting of numbers shared by every renderer (and exported for other
 * modules): durations from microseconds, counts, rates, bytes, percentages.
 * Locale-independent on purpose, so outputs are identical on every machine.
 */

/** Trim a fixed-point string to `digits` significant digits, dropping trailing zeros. */
function significant(value: number, digits: number): string {
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  const fixed = value.toFixed(decimals);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/**
 * A duration given in microseconds, in the largest unit that keeps it readable:
 * `850us`, `12.3ms`, `1.23s`, `2m05s`, `1h02m`. Three significant digits below a minute.
 * Non-finite input gives `n/a`.
 */
export function formatDuration(us: number): string {
  if (!Number.isFinite(us)) return 'n/a';
  const sign = us < 0 ? '-' : '';
  const abs = Math.abs(us);
  // Thresholds sit at the rounding edge so 999.7us prints as 1ms, not 1000us.
  if (abs < 999.5) return `${sign}${significant(Math.round(abs * 10) / 10, 3)}us`;
  if (abs < 999_500) return `${sign}${significant(abs / 1_000, 3)}ms`;
  if (abs < 59_950_000) return `${sign}${significant(abs / 1_000_000, 3)}s`;
  const totalSec = Math.round(abs / 1_000_000);
  if (totalSec < 3600) {
    const m = Math.floor(totalSec / 60);
    return `${sign}${m}m${String(totalSec % 60).padStart(2, '0')}s`;
  }
  const totalMin = Math.round(totalSec / 60);
  return `${sign}${Math.floor(totalMin / 60)}h${String(totalMin % 60).padStart(2, '0')}m`;
}

/** Group an integer's digits in threes with commas: `1234567` -> `1,234,567`. */
function groupDigits(n: number): string {
  const sign = n < 0 ? '-' : '';
  const digits = String(Math.abs(Math.round(n)));
  return sign + digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A count. By default exact with thousands separators (`1,234,567`); with
 * `compact` three significant digits and a suffix (`1.23M`, `45.6k`).
 * Non-integers keep up to two decimals (`12.5`). Non-finite input gives `n/a`.
 */
export function formatCount(n: number, opts: { compact?: boolean } = {}): string {
  if (!Number.isFinite(n)) return 'n/a';
  const abs = Math.abs(n);
  if (opts.compact && abs >= 1_000) {
    const units: Array<[number, string]> = [
      [1e12, 'T'],
      [1e9, 'G'],
      [1e6, 'M'],
      [1e3, 'k'],
    ];
    for (const [size, suffix] of units) {
      // 999,950 would print as "1000k": promote it to the next unit.
      if (abs >= size * 0.9995) return `${significant(n / size, 3)}${suffix}`;
    }
  }
  if (Number.isInteger(n)) return groupDigits(n);
  if (abs >= 100) return groupDigits(n);
  return significant(n, 3);
}

/** A rate per second: `12.3k/s`, `850/s`, `0.5/s`. */
export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec)) return 'n/a';
  return `${formatCount(Math.abs(perSec) >= 1_000 ? perSec : Math.round(perSec * 100) / 100, { compact: true })}/s`;
}

/** Bytes in binary units: `512B`, `12.0KiB`, `1.50GiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(value)}B` : `${value.toFixed(value >= 100 ? 0 : value >= 10 ? 1 : 2)}${units[i]}`;
}

/** A percentage from a percent value (not a ratio): `42.5%`, `0.01%`. */
export function formatPercent(percent: number, digits = 3): string {
  if (!Number.isFinite(percent)) return 'n/a';
  return `${significant(percent, digits)}%`;
}

/** A signed percentage change: `+12.3%`, `-4.1%`, `0%`. */
export function formatDeltaPct(deltaPct: number): string {
  if (!Number.isFinite(deltaPct)) return deltaPct > 0 ? '+inf%' : deltaPct < 0 ? '-inf%' : 'n/a';
  const rounded = Math.round(deltaPct * 10) / 10;
  if (rounded === 0) return '0%';
  return `${rounded > 0 ? '+' : ''}${rounded.toFixed(1)}%`;
}

/** Elapsed time in whole seconds for progress displays: `75000` ms -> `1m15s`, `9000` -> `9s`. */
export function formatClock(ms: number): string {
  const sec = Math.max(0, Math.floor(ms / 1000));
  if (sec < 60) return `${sec}s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m${String(sec % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
