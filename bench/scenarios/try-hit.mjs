import { measureTryRate, noTry } from '../lib/tryRate.mjs';

/** try-hit: the non-waiting call on a bucket that always has tokens. */
export default {
  name: 'try-hit',
  title: 'try-hit: tryGetToken() on a bucket that always has tokens',
  description:
    'How many non-waiting calls per second a bucket that always has tokens serves (capacity 10^9, refilled ' +
    'at 10^9 tokens/s, so it never runs dry). Higher is better.',
  isolation: 'in-process',
  warmup: true,
  params: {
    full: { rounds: 15, sampleMs: 200, batch: 10_000 },
    quick: { rounds: 2, sampleMs: 20, batch: 1_000 },
  },
  spec: { capacity: 1e9, refillTokens: 1e9, refillInterval: 1000, initialTokens: 1e9 },
  columns: [
    { key: 'opsPerSec', label: 'calls/s', unit: 'ops/s', better: 'higher', ratio: true },
    { key: 'grantedPct', label: 'took a token', unit: '%' },
  ],
  headline: 'opsPerSec',
  summary: ['opsPerSec'],
  skip: noTry,
  measure(library, params) {
    return measureTryRate(library, this.spec, params);
  },
  targets: [
    {
      text: '≥ 0.9× the inline reference and ahead of every peer',
      check: (row, rows) =>
        row.ratio.opsPerSec >= 0.9 &&
        rows.every(
          (other) => other.role !== 'peer' || !(other.summary?.opsPerSec.median >= row.summary.opsPerSec.median),
        ),
    },
  ],
};
