import { percentile } from '../lib/stats.mjs';

/**
 * timing: a 100 tokens/s bucket of capacity 1, starting empty, and one caller awaiting `n` tokens in a
 * row, in real time. Grant k is due at creation + k × 10 ms; its lateness is how much later it came
 * (negative: early, before its token existed). In one process, libraries interleaved in rounds.
 */
export default {
  name: 'timing',
  title: 'timing: capacity 1, 100 tokens/s, starting empty, 200 sequential awaits',
  description:
    'One caller awaits 200 tokens in a row from an empty bucket of capacity 1 refilling 100 tokens/s, in ' +
    'real time. Grant k is due k × 10 ms after the bucket was created; lateness is how much later it came ' +
    '(p50, p99, max, and the earliest: a negative value is a grant before its token existed), and drift is ' +
    'the lateness of the last grant: whether the schedule slips as grants go on. Lower is better.',
  isolation: 'in-process',
  params: {
    full: { rounds: 3, n: 200 },
    quick: { rounds: 1, n: 10 },
  },
  spec: { capacity: 1, refillTokens: 1, refillInterval: 10, initialTokens: 0 },
  columns: [
    { key: 'p50', label: 'lateness p50', unit: 'ms', better: 'lower' },
    { key: 'p99', label: 'lateness p99', unit: 'ms', better: 'lower' },
    { key: 'max', label: 'lateness max', unit: 'ms', better: 'lower' },
    { key: 'min', label: 'earliest', unit: 'ms' },
    { key: 'drift', label: 'drift at last grant', unit: 'ms', better: 'lower' },
  ],
  headline: 'drift',
  summary: ['p99', 'drift'],
  /** The per-grant lateness (ms) of each sample, for the chart. */
  series: 'lateness',
  async measure(library, params) {
    const { refillInterval } = this.spec;
    const origin = performance.now();
    const bucket = await library.create(this.spec);
    const lateness = [];
    for (let k = 1; k <= params.n; k++) {
      await library.take(bucket);
      lateness.push(performance.now() - (origin + k * refillInterval));
    }
    library.close(bucket);
    return {
      p50: percentile(lateness, 50),
      p99: percentile(lateness, 99),
      max: Math.max(...lateness),
      min: Math.min(...lateness),
      drift: lateness[lateness.length - 1],
      lateness,
    };
  },
  targets: [{ text: 'drift at the last grant ≤ 2 ms', check: (row) => row.summary.drift.median <= 2 }],
};
