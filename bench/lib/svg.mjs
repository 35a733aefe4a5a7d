/**
 * A hand-written SVG line chart of the timing scenario: lateness (ms) of each grant against the grant
 * number, one line per library. No dependencies; the output is a standalone SVG file.
 */

const WIDTH = 960;
const HEIGHT = 480;
const MARGIN = { top: 56, right: 300, bottom: 56, left: 64 };
const COLORS = {
  reference: '#6b7280',
  lazy: '#0a7d2c',
  timer: '#1d4ed8',
  limiter: '#d97706',
  'rate-limiter-flexible': '#dc2626',
  bottleneck: '#7c3aed',
  'p-throttle': '#db2777',
};
const FALLBACK_COLORS = ['#0891b2', '#65a30d', '#9f1239', '#4b5563'];

function escapeXml(text) {
  return String(text)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** Round tick values from at or below `min` to at or above `max`: about `count` of them, at 1, 2 or 5 × a power of ten. */
function ticks(min, max, count) {
  const span = max - min || 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw) ?? 10 * power;
  const values = [];
  const last = Math.ceil(max / step - 1e-9) * step;
  for (let value = Math.floor(min / step + 1e-9) * step; value <= last + step * 1e-9; value += step) {
    values.push(Number(value.toPrecision(12)));
  }
  return values;
}

/**
 * Returns the SVG text of the chart.
 * @param {{ title: string, subtitle: string, series: Array<{ id: string, label: string, role: string, values: number[] }> }} chart
 */
export function timingChart({ title, subtitle, series }) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const count = Math.max(1, ...series.map((line) => line.values.length));
  const all = series.flatMap((line) => line.values);
  const high = Math.max(1, ...all);
  // A few hundredths of a ms early (a peer's rounding) should not add a whole negative tick band.
  const low = Math.min(0, ...all) > -0.02 * high ? 0 : Math.min(0, ...all);
  const yTicks = ticks(low, high, 6);
  const yMin = yTicks[0];
  const yMax = yTicks[yTicks.length - 1];
  const xTicks = ticks(0, count, 8).filter((value) => value >= 0 && value <= count);
  const x = (grant) => MARGIN.left + (count <= 1 ? 0 : ((grant - 1) / (count - 1)) * plotWidth);
  // Values are clamped to the axis range (only the few hundredths of a ms below 0 left out above).
  const y = (ms) => MARGIN.top + (1 - (Math.min(yMax, Math.max(yMin, ms)) - yMin) / (yMax - yMin)) * plotHeight;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="600" fill="#111827">${escapeXml(title)}</text>`,
    `<text x="${MARGIN.left}" y="42" fill="#4b5563">${escapeXml(subtitle)}</text>`,
  );
  for (const value of yTicks) {
    const at = y(value).toFixed(1);
    const stroke = value === 0 ? '#9ca3af' : '#e5e7eb';
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${at}" y2="${at}" stroke="${stroke}"/>`,
      `<text x="${MARGIN.left - 8}" y="${at}" dy="4" text-anchor="end" fill="#374151">${value}</text>`,
    );
  }
  for (const value of xTicks) {
    const at = x(Math.max(1, value)).toFixed(1);
    out.push(
      `<line x1="${at}" x2="${at}" y1="${MARGIN.top + plotHeight}" y2="${MARGIN.top + plotHeight + 5}" stroke="#6b7280"/>`,
      `<text x="${at}" y="${MARGIN.top + plotHeight + 20}" text-anchor="middle" fill="#374151">${Math.max(1, value)}</text>`,
    );
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#6b7280"/>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 12}" text-anchor="middle" fill="#111827">grant number</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle" fill="#111827">lateness against the ideal schedule (ms)</text>`,
  );
  let fallback = 0;
  const styles = series.map((line) => ({
    color: COLORS[line.id] ?? FALLBACK_COLORS[fallback++ % FALLBACK_COLORS.length],
    width: line.role === 'ours' ? 2.5 : 1.5,
    dash: line.role === 'reference' ? ' stroke-dasharray="6 4"' : '',
  }));
  // Peers first, then the reference, then ours on top: flat lines near 0 would otherwise hide ours.
  const drawOrder = { peer: 0, reference: 1, ours: 2 };
  const drawn = series
    .map((line, index) => ({ line, index }))
    .sort((a, b) => (drawOrder[a.line.role] ?? 0) - (drawOrder[b.line.role] ?? 0));
  for (const { line, index } of drawn) {
    const { color, width, dash } = styles[index];
    const points = line.values.map((ms, i) => `${x(i + 1).toFixed(1)},${y(ms).toFixed(1)}`).join(' ');
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="${width}" stroke-linejoin="round"${dash} points="${points}"/>`,
    );
  }
  series.forEach((line, index) => {
    const { color, width, dash } = styles[index];
    const legendY = MARGIN.top + 14 + index * 22;
    const legendX = MARGIN.left + plotWidth + 16;
    const last = line.values[line.values.length - 1];
    out.push(
      `<line x1="${legendX}" x2="${legendX + 24}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${color}" stroke-width="${width + 0.5}"${dash}/>`,
      `<text x="${legendX + 32}" y="${legendY}" fill="#111827">${escapeXml(line.label)}${last === undefined ? '' : ` (${last.toFixed(1)} ms)`}</text>`,
    );
  });
  out.push(
    `<text x="${MARGIN.left + plotWidth + 16}" y="${MARGIN.top + 14 + series.length * 22 + 8}" fill="#6b7280" font-size="11">in brackets: lateness of the last grant</text>`,
    '</svg>',
    '',
  );
  return out.join('\n');
}
