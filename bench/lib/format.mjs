/** Formatting of numbers and Markdown tables for the benchmark's report. */

/** Formats `value` for a column of `unit` ('ops/s', 'ms', 'B', '%', 'count', or none). */
export function formatValue(value, unit) {
  if (value === undefined || Number.isNaN(value)) return '–';
  if (unit === 'ops/s') {
    if (Math.abs(value) >= 1e6) return `${(value / 1e6).toPrecision(3)} M`;
    if (Math.abs(value) >= 1e3) return `${(value / 1e3).toPrecision(3)} k`;
    return value.toPrecision(3);
  }
  if (unit === 'ms') {
    const abs = Math.abs(value);
    return abs >= 100 ? value.toFixed(0) : abs >= 10 ? value.toFixed(1) : value.toFixed(2);
  }
  if (unit === '%') return value.toFixed(value !== 0 && Math.abs(value) < 10 ? 2 : 1);
  if (unit === 'B' || unit === 'count') return Math.round(value).toLocaleString('en-US');
  return String(value);
}

/** "median (min–max)" of a summary, or the median alone when the range is a single value. */
export function formatSummary(summary, unit) {
  const median = formatValue(summary.median, unit);
  const min = formatValue(summary.min, unit);
  const max = formatValue(summary.max, unit);
  return min === max ? median : `${median} (${min} – ${max})`;
}

/** Formats a ratio against the reference, e.g. "0.93×". */
export function formatRatio(ratio) {
  if (ratio === undefined || !Number.isFinite(ratio)) return '–';
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio >= 0.1 ? ratio.toFixed(2) : ratio.toPrecision(2)}×`;
}

/** Renders a Markdown table from a header row and body rows of strings. */
export function markdownTable(header, rows) {
  const escape = (cell) => String(cell).replaceAll('|', '\\|');
  const lines = [header, header.map(() => '---'), ...rows].map((row) => `| ${row.map(escape).join(' | ')} |`);
  return lines.join('\n');
}
