// The runtime rows' runner on runtimes with workers (Node, Bun, Deno): `<runtime> suite/runtime/run.mjs`.
// Prints one TBF-ROW line per scenario. Workers are the runtime's own: Web Workers where the runtime has
// them (Bun, Deno), node:worker_threads otherwise (Node).
/* global Worker -- the Web Worker constructor, where the runtime has one */
import { rowLine } from '../common/rows.mjs';
import { REAL_INTERVAL, runScenarios, sharedWorkers } from './scenarios.mjs';

const workerUrl = new URL('./shared-worker.mjs', import.meta.url);

/**
 * Starts two workers with `start(onMessage, onError)` (which returns `{ post, stop }`) and returns
 * `{ ready, go, done }` for the `shared/workers` scenario: each worker says 'ready' once it holds the
 * bucket, is told 'go', and answers with its array of grant instants.
 */
function twoWorkers(start, setup) {
  const ready = [];
  const done = [];
  const posts = [];
  for (let i = 0; i < 2; i += 1) {
    let isReady;
    ready.push(new Promise((resolve) => (isReady = resolve)));
    done.push(
      new Promise((resolve, reject) => {
        const worker = start(
          (data) => {
            if (data === 'started') worker.post(setup);
            else if (data === 'ready') isReady();
            else {
              resolve(data);
              worker.stop();
            }
          },
          (error) => {
            reject(error);
            worker.stop();
          },
        );
        posts.push(() => worker.post('go'));
      }),
    );
  }
  return { ready: Promise.all(ready), go: () => posts.forEach((post) => post()), done: Promise.all(done) };
}

/** The runtime's Web Workers: the handle is posted once the worker has started. */
function spawnWebWorkers(handle, count) {
  return twoWorkers(
    (onMessage, onError) => {
      const worker = new Worker(workerUrl, { type: 'module' });
      worker.onmessage = (event) => onMessage(event.data);
      worker.onerror = (event) => onError(new Error(`worker failed: ${event.message}`));
      return { post: (data) => worker.postMessage(data), stop: () => worker.terminate() };
    },
    { handle, count },
  );
}

/** node:worker_threads workers: the handle goes in workerData. */
function spawnNodeWorkers(handle, count) {
  return twoWorkers((onMessage, onError) => {
    const worker = new threads.Worker(workerUrl, { workerData: { handle, count } });
    worker.on('message', onMessage);
    worker.once('error', onError);
    return { post: (data) => worker.postMessage(data), stop: () => {} };
  });
}

const webWorkers = typeof globalThis.Worker === 'function';
const threads = webWorkers ? null : await import('node:worker_threads');
const spawnWorkers = webWorkers ? spawnWebWorkers : spawnNodeWorkers;

await runScenarios((...row) => console.log(rowLine(...row)), {
  extra: { [`shared/workers-real-${REAL_INTERVAL}ms`]: () => sharedWorkers(spawnWorkers) },
});
