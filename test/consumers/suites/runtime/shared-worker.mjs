// A worker of the `shared/workers` scenario: draws tokens from the shared bucket whose handle it is
// given and answers with the grant instants. Started by run.mjs as a Web Worker (it says 'ready', then
// is sent the handle) or as a node:worker_threads worker (the handle is in workerData).
/* global self -- the Web Worker's global scope */
import { parentPort, workerData } from 'node:worker_threads';
import { drawShared } from './scenarios.mjs';

if (workerData?.handle !== undefined) {
  parentPort.postMessage(await drawShared(workerData.handle, workerData.count));
} else {
  self.onmessage = async (event) => {
    self.postMessage(await drawShared(event.data.handle, event.data.count));
  };
  self.postMessage('ready');
}
