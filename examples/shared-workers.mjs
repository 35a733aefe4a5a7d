// One rate limit for a whole process: four worker threads draw from ONE token bucket.
//
// The main thread creates a SharedTokenBucketFilter (5 tokens per second, bursts of up to 5) and hands
// `bucket.handle` to each worker through `workerData`. Each worker rebuilds the bucket with
// `SharedTokenBucketFilter.from(handle)` and awaits 4 tokens, one at a time. Together they get 16
// tokens: 5 at once (the full bucket), then 5 per second, so the whole run takes 3 seconds, whereas
// four separate buckets would have let all 16 through at once.
//
// Run it with `node examples/shared-workers.mjs` (after `npm run build` in this repository).
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { SharedTokenBucketFilter } from 'token-bucket-filter/shared';

/** Milliseconds on a clock every thread shares (each thread's performance.now() starts at its birth). */
const now = () => performance.timeOrigin + performance.now();

if (isMainThread) {
  const started = now(); // just before the bucket: its schedule starts inside the constructor
  const bucket = new SharedTokenBucketFilter({ capacity: 5, refillTokens: 5, refillInterval: 1000 });
  console.log('4 workers, 4 tokens each, one shared bucket of 5 tokens per second');
  const workers = [1, 2, 3, 4].map(
    (id) =>
      new Promise((resolve, reject) => {
        // The handle is structured-clonable: the SharedArrayBuffer inside is shared, not copied.
        const worker = new Worker(new URL(import.meta.url), { workerData: { id, started, handle: bucket.handle } });
        worker.on('message', (line) => console.log(line));
        worker.on('error', reject);
        worker.on('exit', resolve);
      }),
  );
  await Promise.all(workers);
  console.log(`all 16 tokens granted in ${((now() - started) / 1000).toFixed(1)} s`);
  bucket.close(); // closes the bucket for every thread; nothing keeps the process alive either way
} else {
  const { id, started, handle } = workerData;
  const bucket = SharedTokenBucketFilter.from(handle);
  for (let token = 1; token <= 4; token += 1) {
    await bucket.getToken();
    const seconds = ((now() - started) / 1000).toFixed(3).padStart(6);
    parentPort.postMessage(`${seconds} s  worker ${id} got its token ${token}`);
  }
  // Nothing to release: the worker exits once it has no more work.
}
