/**
 * get-hit: the waiting call on a bucket that always has tokens, so every `getToken()` is granted at
 * once: the promise a caller awaits before each request, on its fast path. Batches of `batch` calls
 * are made and then awaited together, until `sampleMs` have passed.
 */
import { promisify } from 'node:util';

const setImmediateAsync = promisify(setImmediate);

/** Calls per second of `library.take` on a bucket built from `spec` that never runs dry. */
async function measureGetRate(library, spec, params) {
  const bucket = await library.create(spec);
  const batch = params.batch;
  const pending = new Array(batch);
  let calls = 0;
  const started = performance.now();
  let elapsed;
  do {
    for (let i = 0; i < batch; i++) pending[i] = library.take(bucket);
    await Promise.all(pending);
    calls += batch;
    elapsed = performance.now() - started;
  } while (elapsed < params.sampleMs);
  library.close(bucket);
  await setImmediateAsync();
  return { opsPerSec: (calls / elapsed) * 1000 };
}

export default {
  name: 'get-hit',
  title: 'get-hit: getToken() on a bucket that always has tokens',
  description:
    'How many waiting calls per second a bucket that always has tokens grants at once, made in batches ' +
    'of 1,000 and awaited together (capacity 10^9, refilled at 10^9 tokens/s). Higher is better.',
  isolation: 'in-process',
  warmup: true,
  params: {
    full: { rounds: 15, sampleMs: 200, batch: 1_000 },
    quick: { rounds: 2, sampleMs: 20, batch: 100 },
  },
  spec: { capacity: 1e9, refillTokens: 1e9, refillInterval: 1000, initialTokens: 1e9 },
  columns: [{ key: 'opsPerSec', label: 'calls/s', unit: 'ops/s', better: 'higher', ratio: true }],
  headline: 'opsPerSec',
  summary: ['opsPerSec'],
  measure(library, params) {
    return measureGetRate(library, this.spec, params);
  },
};
