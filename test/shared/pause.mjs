// A worker of test/shared.threads.test.ts: queues getToken() on a shared bucket whose token comes
// 200 ms after its creation, tells the parent it is waiting, and reports when the call was granted
// (epoch ms, the time base every thread shares) once another thread has paused the bucket.
//
// workerData: { handle, sharedUrl }
// Posts { waiting: true }, then { grantedAt, stats }.
import { parentPort, workerData } from 'node:worker_threads';

const { handle, sharedUrl } = workerData;
const { SharedTokenBucketFilter } = await import(sharedUrl);
const bucket = SharedTokenBucketFilter.from(handle);

const granted = bucket.getToken();
parentPort.postMessage({ waiting: true });
await granted;
parentPort.postMessage({ grantedAt: performance.timeOrigin + performance.now(), stats: bucket.stats() });
