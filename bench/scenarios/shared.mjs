#!/usr/bin/env node
/**
 * shared: tryGetToken() throughput of one SharedTokenBucketFilter drawn on by 1, 2 and 4 worker
 * threads at once, against (a) the single-thread LazyTokenBucketFilter and (b) the only alternative
 * users have without it: a coordinator bucket in the main thread that each worker asks over a
 * MessagePort (one round trip per call).
 *
 * A standalone script, not a bench/run.mjs scenario: its rows are thread layouts of one library, not
 * libraries. Run it after building the package:
 *
 *     node bench/scenarios/shared.mjs [--rounds 5] [--ms 1000] [--json file]
 *
 * (TBF_DIST_DIR points it at a build elsewhere.) Every measurement runs in fresh worker threads that
 * start together (released by one Atomics.notify), spin for `--ms` and report how many calls they
 * made; the bucket always has tokens (capacity 10^9, refilled at 10^9 per second), so each call
 * is a successful take: for the shared bucket, one decision under the lock of its shared state, the
 * contended case (`miss`: the bucket never has tokens, and a thread's refusal is usually proved
 * without the lock). Prints medians (min – max) over the rounds and the ratios the issue asks for.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

const distDir = process.env.TBF_DIST_DIR ?? fileURLToPath(new URL('../../dist', import.meta.url));
const indexUrl = pathToFileURL(`${distDir}/index.js`).href;
const sharedUrl = pathToFileURL(`${distDir}/shared.js`).href;
/** Bucket of each case: `hit` always has tokens (every call takes one), `miss` never has any. */
const SPECS = {
  hit: { capacity: 1e9, refillTokens: 1e9, refillInterval: 1000 },
  miss: { capacity: 1, refillTokens: 1, refillInterval: 1e9, initialTokens: 0 },
};
const WARMUP_MS = 300;

function parseArgs(argv) {
  const options = { rounds: 5, ms: 1000, json: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = argv[i + 1];
    if (arg === '--rounds' || arg === '--ms') {
      const number = Number(value);
      if (!Number.isInteger(number) || number < 1)
        throw new Error(`${arg} must be a positive integer, received ${value}`);
      options[arg.slice(2)] = number;
      i += 1;
    } else if (arg === '--json' && value !== undefined) {
      options.json = value;
      i += 1;
    } else {
      throw new Error(
        `Unknown argument ${arg}; usage: node bench/scenarios/shared.mjs [--rounds n] [--ms n] [--json file]`,
      );
    }
  }
  return options;
}

// The code every worker runs. It waits on `start` (an Int32Array word) until the main thread releases
// all workers at once, spins for `ms`, and posts how many calls it made and how many took a token.
const WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
const { mode, ms, warmupMs, startWord, handle, port, indexUrl, sharedUrl, spec } = workerData;
const start = new Int32Array(startWord);
let bucket;
let warmupBucket;
if (mode === 'shared') {
  const { SharedTokenBucketFilter } = await import(sharedUrl);
  bucket = SharedTokenBucketFilter.from(handle);
  warmupBucket = new SharedTokenBucketFilter(spec);
}
if (mode === 'lazy') {
  const { LazyTokenBucketFilter } = await import(indexUrl);
  bucket = new LazyTokenBucketFilter(spec);
  warmupBucket = new LazyTokenBucketFilter(spec);
}
// One request, one reply: what a worker does when the bucket lives in another thread.
const ask = () => new Promise((resolve) => { port.once('message', resolve); port.postMessage(1); });

async function spin(target, ms) {
  let calls = 0;
  let granted = 0;
  const until = performance.now() + ms;
  if (mode === 'coordinator') {
    while (performance.now() < until) {
      for (let i = 0; i < 64; i += 1) { calls += 1; if (await ask()) granted += 1; }
    }
  } else {
    while (performance.now() < until) {
      for (let i = 0; i < 10000; i += 1) { calls += 1; if (target.tryGetToken()) granted += 1; }
    }
  }
  return { calls, granted };
}

await spin(warmupBucket, warmupMs); // let the JIT settle on a private bucket (or the coordinator)
parentPort.postMessage('ready');
Atomics.wait(start, 0, 0);
parentPort.postMessage(await spin(bucket, ms));
if (mode === 'coordinator') port.close();
`;

/** Runs `threads` workers in `mode` for `ms` and returns the calls per second of each. */
async function measure(mode, threads, ms, spec) {
  const startWord = new SharedArrayBuffer(4);
  const start = new Int32Array(startWord);
  let shared;
  let coordinator;
  if (mode === 'shared') shared = new (await import(sharedUrl)).SharedTokenBucketFilter(spec);
  if (mode === 'coordinator') coordinator = new (await import(indexUrl)).LazyTokenBucketFilter(spec);
  const workers = [];
  const ports = [];
  const ready = [];
  const done = [];
  for (let t = 0; t < threads; t += 1) {
    const workerData = { mode, ms, warmupMs: WARMUP_MS, startWord, indexUrl, sharedUrl, spec, handle: shared?.handle };
    const transferList = [];
    if (coordinator !== undefined) {
      const { port1, port2 } = new MessageChannel();
      port1.on('message', () => port1.postMessage(coordinator.tryGetToken()));
      workerData.port = port2;
      transferList.push(port2);
      ports.push(port1);
    }
    const worker = new Worker(WORKER, { eval: true, workerData, transferList });
    const messages = [];
    ready.push(
      new Promise((resolve, reject) => {
        worker.on('message', (message) => {
          messages.push(message);
          if (message === 'ready') resolve();
        });
        worker.on('error', reject);
      }),
    );
    done.push(
      new Promise((resolve, reject) => {
        worker.on('exit', () => resolve(messages.find((message) => typeof message === 'object')));
        worker.on('error', reject);
      }),
    );
    workers.push(worker);
  }
  await Promise.all(ready);
  Atomics.store(start, 0, 1);
  Atomics.notify(start, 0);
  const results = await Promise.all(done);
  for (const port of ports) port.close();
  shared?.close();
  coordinator?.close();
  return results.map((result) => (result.calls / ms) * 1000);
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const format = (value) =>
  value >= 1e6 ? `${(value / 1e6).toFixed(2)} M` : value >= 1e3 ? `${(value / 1e3).toFixed(1)} k` : value.toFixed(0);

const options = parseArgs(process.argv.slice(2));
const layouts = [
  { id: 'lazy-1', label: 'LazyTokenBucketFilter, 1 thread', mode: 'lazy', threads: 1 },
  // Not one limit: each thread has its own bucket. How fast the machine runs N threads that share nothing.
  {
    id: 'lazy-2',
    label: 'LazyTokenBucketFilter, 2 threads, a bucket each (no shared limit)',
    mode: 'lazy',
    threads: 2,
  },
  {
    id: 'lazy-4',
    label: 'LazyTokenBucketFilter, 4 threads, a bucket each (no shared limit)',
    mode: 'lazy',
    threads: 4,
  },
  { id: 'shared-1', label: 'SharedTokenBucketFilter, 1 thread', mode: 'shared', threads: 1 },
  { id: 'shared-2', label: 'SharedTokenBucketFilter, 2 threads, one bucket', mode: 'shared', threads: 2 },
  { id: 'shared-4', label: 'SharedTokenBucketFilter, 4 threads, one bucket', mode: 'shared', threads: 4 },
  { id: 'coordinator-1', label: 'coordinator in the main thread, 1 worker asking', mode: 'coordinator', threads: 1 },
  { id: 'coordinator-2', label: 'coordinator in the main thread, 2 workers asking', mode: 'coordinator', threads: 2 },
  { id: 'coordinator-4', label: 'coordinator in the main thread, 4 workers asking', mode: 'coordinator', threads: 4 },
];
const loadAtStart = os.loadavg()[0];
process.stderr.write(
  `${os.cpus().length} CPUs, Node ${process.version}, load average ${loadAtStart.toFixed(2)}; ${options.rounds} round(s) of ${options.ms} ms\n`,
);
if (loadAtStart > os.cpus().length / 2) {
  process.stderr.write(
    'WARNING: other processes are using the CPUs: the numbers, threads above all, will be low and noisy\n',
  );
}
const line = (cells) => `| ${cells.join(' | ')} |`;
const report = { options, cpus: os.cpus().length, node: process.version, loadAtStart, cases: {} };
for (const [name, spec] of Object.entries(SPECS)) {
  const samples = new Map(layouts.map((layout) => [layout.id, { total: [], perThread: [] }]));
  for (let round = 0; round < options.rounds; round += 1) {
    // Rotate the order each round so that no layout always runs first or last.
    const order = layouts.map((_, i) => layouts[(i + round) % layouts.length]);
    for (const layout of order) {
      const perThread = await measure(layout.mode, layout.threads, options.ms, spec);
      const total = perThread.reduce((a, b) => a + b, 0);
      samples.get(layout.id).total.push(total);
      samples.get(layout.id).perThread.push(total / layout.threads);
      process.stderr.write(`  ${name} round ${round + 1} ${layout.id}: ${format(total)} calls/s\n`);
    }
  }

  const summary = (id, key) => median(samples.get(id)[key]);
  const range = (id, key) =>
    `${format(Math.min(...samples.get(id)[key]))} – ${format(Math.max(...samples.get(id)[key]))}`;
  const lazy = summary('lazy-1', 'perThread');
  const rows = layouts.map((layout) => {
    const total = summary(layout.id, 'total');
    const perThread = summary(layout.id, 'perThread');
    const shared = layout.mode === 'shared';
    const coordinator = shared ? summary(`coordinator-${layout.threads}`, 'total') : undefined;
    const sameThreads = shared ? summary(`lazy-${layout.threads}`, 'perThread') : undefined;
    return [
      layout.label,
      `${format(total)} (${range(layout.id, 'total')})`,
      format(perThread),
      `${(perThread / lazy).toFixed(2)}×`,
      sameThreads === undefined ? '' : `${(perThread / sameThreads).toFixed(2)}×`,
      coordinator === undefined ? '' : `${(total / coordinator).toFixed(0)}×`,
    ];
  });
  const header = [
    'layout',
    'calls/s, all threads',
    'calls/s per thread',
    'per thread ÷ lazy, 1 thread',
    'per thread ÷ lazy, as many threads',
    'all threads ÷ coordinator, as many workers',
  ];
  const what =
    name === 'hit'
      ? 'the bucket always has tokens: every call takes one (a decision under the shared lock)'
      : 'the bucket never has tokens: every call is refused (proved without the lock after the first)';
  console.log(`### shared, ${name}: tryGetToken() on one bucket from several threads; ${what}\n`);
  console.log(line(header));
  console.log(line(header.map(() => '---')));
  for (const row of rows) console.log(line(row));
  const targets = [
    ...[1, 2, 4].map((n) => ({
      text: `shared, ${n} thread(s) ≥ 20× the coordinator with as many workers`,
      met: summary(`shared-${n}`, 'total') >= 20 * summary(`coordinator-${n}`, 'total'),
    })),
    ...[1, 2, 4].map((n) => ({
      text: `shared, ${n} thread(s): per thread within 3× of the lazy bucket in 1 thread`,
      met: summary(`shared-${n}`, 'perThread') * 3 >= lazy,
    })),
    ...[2, 4].map((n) => ({
      text: `shared, ${n} threads: per thread within 3× of lazy buckets in as many threads (same CPU sharing)`,
      met: summary(`shared-${n}`, 'perThread') * 3 >= summary(`lazy-${n}`, 'perThread'),
    })),
  ];
  console.log(`\nTargets (${name}):\n${targets.map((t) => `- ${t.met ? 'met' : 'MISSED'}: ${t.text}`).join('\n')}\n`);
  report.cases[name] = { spec, samples: Object.fromEntries(samples), targets };
}
console.log(
  `Medians of ${options.rounds} round(s) of ${options.ms} ms after a ${WARMUP_MS} ms warm-up, (min – max); ` +
    `${os.cpus().length} CPUs, Node ${process.version}, load average ${loadAtStart.toFixed(2)} at start. ` +
    'With more threads than CPUs, threads share cores, so ' +
    'per-thread numbers there also measure time-slicing.',
);
if (options.json !== undefined) writeFileSync(options.json, JSON.stringify(report, null, 2));
