import { measureTryRate, noTry } from '../lib/tryRate.mjs';

/** try-miss: the non-waiting call on an empty bucket. */
export default {
  name: 'try-miss',
  title: 'try-miss: tryGetToken() on an empty bucket',
  description:
    'How many non-waiting calls per second an empty bucket refuses (capacity 1, one token an hour, ' +
    'starting empty). Higher is better.',
  isolation: 'in-process',
  warmup: true,
  params: {
    full: { rounds: 15, sampleMs: 200, batch: 10_000 },
    quick: { rounds: 2, sampleMs: 20, batch: 1_000 },
  },
  spec: { capacity: 1, refillTokens: 1, refillInterval: 3_600_000, initialTokens: 0 },
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
