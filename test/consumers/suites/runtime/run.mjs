// The runtime rows' runner on runtimes with workers (Node, Bun, Deno): `<runtime> suite/runtime/run.mjs`.
// Prints one TBF-ROW line per scenario. Workers are the runtime's own: Web Workers where the runtime has
// them (Bun, Deno), node:worker_threads otherwise (Node).
/* global Worker -- the Web Worker constructor, where the runtime has one */
import { rowLine } from '../common/rows.mjs';
import { REAL_INTERVAL, runScenarios, sharedWorkers } from './scenarios.mjs';

const workerUrl = new URL('./shared-worker.mjs', import.meta.url);

/** Starts one Web Worker per entry; each says 'ready', is sent the handle, and answers with its instants. */
function spawnWebWorkers(handle, count) {
  return Promise.all(
    [0, 1].map(
      () =>
        new Promise((resolve, reject) => {
          const worker = new Worker(workerUrl, { type: 'module' });
          worker.onmessage = (event) => {
            if (event.data === 'ready') return worker.postMessage({ handle, count });
            resolve(event.data);
            worker.terminate();
          };
          worker.onerror = (event) => {
            reject(new Error(`worker failed: ${event.message}`));
            worker.terminate();
          };
        }),
    ),
  );
}

/** Starts two node:worker_threads workers with the handle in workerData. */
async function spawnNodeWorkers(handle, count) {
  const { Worker: ThreadWorker } = await import('node:worker_threads');
  return Promise.all(
    [0, 1].map(
      () =>
        new Promise((resolve, reject) => {
          const worker = new ThreadWorker(workerUrl, { workerData: { handle, count } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
}

const spawnWorkers = typeof globalThis.Worker === 'function' ? spawnWebWorkers : spawnNodeWorkers;

await runScenarios((...row) => console.log(rowLine(...row)), {
  extra: { [`shared/workers-real-${REAL_INTERVAL}ms`]: () => sharedWorkers(spawnWorkers) },
});
