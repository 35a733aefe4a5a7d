// A worker of test/shared.threads.test.ts: queues getToken(1) and getToken(2) on a shared bucket that
// will not grant them for minutes, tells the parent it is waiting, and reports how each call settled
// once another thread reconfigures the bucket.
//
// workerData: { handle, sharedUrl }
// Posts { waiting: true, pending }, then { settled: [outcome, outcome], capacity, stats }.
import { parentPort, workerData } from 'node:worker_threads';

const { handle, sharedUrl } = workerData;
const { SharedTokenBucketFilter } = await import(sharedUrl);
const bucket = SharedTokenBucketFilter.from(handle);

const outcomes = [1, 2].map((count) =>
  bucket.getToken(count).then(
    () => 'granted',
    (error) => `${error.name}: ${error.message}`,
  ),
);
parentPort.postMessage({ waiting: true, pending: bucket.pending });
const settled = await Promise.all(outcomes);
parentPort.postMessage({ settled, capacity: bucket.capacity, stats: bucket.stats() });
