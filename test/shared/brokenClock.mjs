// A worker of test/shared.threads.test.ts: attaches to a shared bucket with from() (the default clock),
// breaks this thread's performance.now() with each reading in turn, and reports how every call fared;
// then mends the clock and takes one token.
//
// workerData: { handle, sharedUrl, readings }
// Posts { outcomes: [{ reading, getToken, tryGetToken, waitTime, available }, ...], mendedTake }.
import { parentPort, workerData } from 'node:worker_threads';

const { handle, sharedUrl, readings } = workerData;
const { SharedTokenBucketFilter } = await import(sharedUrl);
const bucket = SharedTokenBucketFilter.from(handle);

/** How a call ended: 'threw <name>' (synchronously), 'rejected <name>', or 'returned <value>'. */
async function outcome(call) {
  let result;
  try {
    result = call();
  } catch (error) {
    return `threw ${error.name}`;
  }
  if (!(result instanceof Promise)) return `returned ${result}`;
  return result.then(
    (value) => `resolved ${value}`,
    (error) => `rejected ${error.name}`,
  );
}

const outcomes = [];
for (const reading of readings) {
  performance.now = () => reading;
  outcomes.push({
    reading: String(reading),
    getToken: await outcome(() => bucket.getToken()),
    tryGetToken: await outcome(() => bucket.tryGetToken()),
    waitTime: await outcome(() => bucket.waitTime()),
    available: bucket.available,
  });
  delete performance.now; // back to Performance.prototype.now
}
parentPort.postMessage({ outcomes, mendedTake: bucket.tryGetToken() });
