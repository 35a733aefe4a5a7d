import { startCallers } from '../lib/callers.mjs';

/**
 * backlog: n callers wait on an empty bucket whose n tokens all arrive at one instant, `revealMs` after
 * its creation. Measures the lag from that instant to the last grant. A fresh process per library and
 * round, with a smaller warm-up run first.
 */
export default {
  name: 'backlog',
  title: 'backlog: 100,000 waiters whose tokens all exist 1.5 s after creation',
  description:
    '100,000 callers wait on an empty bucket whose 100,000 tokens all arrive at once, 1.5 s after it was ' +
    'created: the lag from that instant to the last grant. Lower is better.',
  isolation: 'child',
  params: {
    full: { rounds: 3, n: 100_000, revealMs: 1500, deadlineMs: 30_000 },
    quick: { rounds: 1, n: 300, revealMs: 100, deadlineMs: 10_000 },
  },
  columns: [
    { key: 'lagMs', label: 'last grant lag', unit: 'ms', better: 'lower' },
    { key: 'firstMs', label: 'first grant', unit: 'ms' },
    { key: 'violations', label: 'FIFO violations', unit: 'count', better: 'lower' },
  ],
  headline: 'lagMs',
  summary: ['lagMs', 'violations'],
  async measure(library, params) {
    await backlog(library, Math.ceil(params.n / 10), Math.ceil(params.revealMs / 10), params.deadlineMs); // warm-up
    return backlog(library, params.n, params.revealMs, params.deadlineMs);
  },
  targets: [
    { text: 'last grant within 20 ms of the instant the tokens exist', check: (row) => row.summary.lagMs.median <= 20 },
  ],
};

async function backlog(library, n, revealMs, deadlineMs) {
  const spec = { capacity: n, refillTokens: n, refillInterval: revealMs, initialTokens: 0 };
  const origin = performance.now();
  const bucket = await library.create(spec);
  const { done, stats } = startCallers(library, bucket, n, revealMs + deadlineMs);
  await done;
  library.close(bucket);
  const revealAt = origin + revealMs;
  return { lagMs: stats.last - revealAt, firstMs: stats.first - revealAt, violations: stats.violations };
}
