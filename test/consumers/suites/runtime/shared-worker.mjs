// A worker of the `shared/workers` scenario: opens the shared bucket whose handle it is given, says
// 'ready', and on 'go' draws its tokens and answers with their grant instants. Started by run.mjs as a
// Web Worker (it says 'started', then is sent the handle) or as a node:worker_threads worker (the handle
// is in workerData).
/* global self -- the Web Worker's global scope */
import { parentPort, workerData } from 'node:worker_threads';
import { sharedDrawer } from './scenarios.mjs';

if (workerData?.handle !== undefined) {
  const draw = sharedDrawer(workerData.handle);
  parentPort.once('message', async () => {
    parentPort.postMessage(await draw(workerData.count));
  });
  parentPort.postMessage('ready');
} else {
  let draw;
  let count;
  self.onmessage = async (event) => {
    if (event.data === 'go') {
      self.postMessage(await draw(count));
      return;
    }
    draw = sharedDrawer(event.data.handle);
    count = event.data.count;
    self.postMessage('ready');
  };
  self.postMessage('started');
}
