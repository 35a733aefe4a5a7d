import { startCallers } from '../lib/callers.mjs';
import { collectGarbage } from '../lib/stats.mjs';

/** Rate of the drained bucket: 1,000 tokens every ms (10^6 tokens/s), with room for one ms of them. */
const spec = { capacity: 1000, refillTokens: 1000, refillInterval: 1, initialTokens: 0 };
/** The same bucket with its first tokens a minute away: every caller stays queued. */
const heapSpec = { ...spec, refillInterval: 60_000 };
const ignore = () => {};
/** Room for the promises of the heap pass, allocated before the heap is first weighed. */
let slots = [];

/**
 * queue-drain: n callers queue at once on an empty bucket that refills at 10^6 tokens/s. Runs in a
 * fresh process per library and round: a warm-up drain, a timed drain, then a heap pass that queues n
 * more callers and weighs the heap (after a full GC) while they all wait.
 */
export default {
  name: 'queue-drain',
  title: 'queue-drain: 100,000 callers await getToken() on an empty bucket refilling at 10^6 tokens/s',
  description:
    '100,000 callers each `await getToken()` at once on an empty bucket that refills 1,000,000 tokens/s ' +
    '(so the ideal drain takes 100 ms): total time from the first call to the last grant, grants per second, ' +
    'heap bytes per queued caller (what the library keeps for one waiting call, the promise it returns and the ' +
    "caller's `.then()` callback, weighed after a full GC with 100,000 callers queued on a bucket whose first " +
    'token is a minute away), ' +
    'and FIFO violations (grants whose caller index is lower than one already granted). Lower time and ' +
    'heap are better; any violation is a bug.',
  isolation: 'child',
  params: {
    full: { rounds: 5, n: 100_000, deadlineMs: 30_000 },
    quick: { rounds: 1, n: 300, deadlineMs: 10_000 },
  },
  columns: [
    { key: 'ms', label: 'drain time', unit: 'ms', better: 'lower', ratio: true },
    { key: 'grantsPerSec', label: 'grants/s', unit: 'ops/s', better: 'higher' },
    { key: 'bytesPerWaiter', label: 'heap/waiter', unit: 'B', better: 'lower', ratio: true },
    { key: 'violations', label: 'FIFO violations', unit: 'count', better: 'lower' },
  ],
  headline: 'ms',
  summary: ['ms', 'bytesPerWaiter', 'violations'],
  async measure(library, params) {
    const n = params.n;
    await drain(library, Math.ceil(n / 10), params.deadlineMs); // warm-up, unmeasured
    const timed = await drain(library, n, params.deadlineMs);

    // The heap pass: the same callers on a bucket whose first token is a minute away, so that all n are
    // still queued when the heap is weighed (the drained bucket grants some while the rest queue up).
    slots = new Array(n).fill(undefined);
    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const bucket = await library.create(heapSpec);
    queueCalls(library, bucket, n);
    collectGarbage();
    const after = process.memoryUsage().heapUsed;
    library.close(bucket);
    slots = [];

    return {
      ms: timed.ms,
      grantsPerSec: (n / timed.ms) * 1000,
      bytesPerWaiter: (after - before) / n,
      violations: timed.violations,
    };
  },
  targets: [
    { text: 'drain time ≤ 1.2× the inline reference', check: (row) => row.ratio.ms <= 1.2 },
    { text: 'heap per waiter ≤ 1.2× the inline reference', check: (row) => row.ratio.bytesPerWaiter <= 1.2 },
    { text: '0 FIFO violations', check: (row) => row.summary.violations.max === 0 },
  ],
};

async function drain(library, n, deadlineMs) {
  const bucket = await library.create(spec);
  const started = performance.now();
  const { done, stats } = startCallers(library, bucket, n, deadlineMs);
  await done;
  library.close(bucket);
  return { ms: stats.last - started, violations: stats.violations };
}

/**
 * Queues n callers the cheapest way a caller can wait: `take(bucket).then(onGrant, onRefusal)`. Their
 * promises are kept in an array allocated before the heap was first weighed, so storing them allocates
 * nothing: the heap grows by what the library keeps for each waiting call, the promise it returns, and
 * the caller's registered callbacks.
 */
function queueCalls(library, bucket, n) {
  const pending = slots;
  for (let index = 0; index < n; index++) pending[index] = library.take(bucket).then(ignore, ignore);
}
