// A worker of test/shared.threads.test.ts: queues getToken() calls on a shared bucket that will not
// grant them for a minute, tells the parent it is waiting, and reports how each call settled once
// another thread closes the bucket.
//
// workerData: { handle, sharedUrl, calls }
// Posts { waiting: true, pending }, then { settled: [name, ...], ms, tryAfterClose, getAfterClose }.
import { parentPort, workerData } from 'node:worker_threads';

const { handle, sharedUrl, calls } = workerData;
const { SharedTokenBucketFilter } = await import(sharedUrl);
const bucket = SharedTokenBucketFilter.from(handle);

const outcomes = Array.from({ length: calls }, () =>
  bucket.getToken().then(
    () => 'granted',
    (error) => error.name,
  ),
);
parentPort.postMessage({ waiting: true, pending: bucket.pending });
const started = performance.now();
const settled = await Promise.all(outcomes);
const ms = performance.now() - started;
let tryAfterClose;
try {
  tryAfterClose = String(bucket.tryGetToken());
} catch (error) {
  tryAfterClose = error.name;
}
const getAfterClose = await bucket.getToken().then(
  () => 'granted',
  (error) => error.name,
);
parentPort.postMessage({ settled, ms, tryAfterClose, getAfterClose });
