import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectGarbage } from '../lib/stats.mjs';

const ignore = () => {};

/** The event-loop delay probe's period, ms. Node's histogram records whole periods (ns), not delays. */
const RESOLUTION_MS = 10;

/** The delay (ms) in a recorded period of the probe: how much longer than its RESOLUTION_MS it took. */
function lateness(periodNs) {
  return Math.max(0, periodNs / 1e6 - RESOLUTION_MS);
}

/**
 * idle-waiters: many buckets, each with one caller waiting for a token due in 30 s, then an idle stretch
 * in which nothing is due: the process's CPU use and event-loop delay over that stretch. A fresh process
 * per library and round.
 */
export default {
  name: 'idle-waiters',
  title: 'idle-waiters: 10,000 buckets each with one waiter due in 30 s, 5 s idle',
  description:
    '10,000 buckets (capacity 1, one token every 30 s, starting empty), each with one caller waiting: the ' +
    'CPU the process uses (user + system, as a share of one core) and the event-loop delay p99 over 5 s in ' +
    'which no token is due. Lower is better. The delay is how late a 10 ms probe timer fires: even an idle ' +
    'process shows a few ms at p99 (timers have 1 ms granularity), so compare with the reference row.',
  isolation: 'child',
  params: {
    full: { rounds: 3, n: 10_000, idleMs: 5000, settleMs: 500 },
    quick: { rounds: 1, n: 300, idleMs: 300, settleMs: 50 },
  },
  spec: { capacity: 1, refillTokens: 1, refillInterval: 30_000, initialTokens: 0 },
  columns: [
    { key: 'cpuPct', label: 'CPU', unit: '%', better: 'lower' },
    { key: 'delayP99', label: 'event-loop delay p99', unit: 'ms', better: 'lower' },
    { key: 'delayMax', label: 'delay max', unit: 'ms', better: 'lower' },
  ],
  headline: 'cpuPct',
  summary: ['cpuPct', 'delayP99'],
  async measure(library, params) {
    const buckets = [];
    for (let i = 0; i < params.n; i++) {
      const bucket = await library.create(this.spec);
      buckets.push(bucket);
      library.take(bucket).catch(ignore); // rejected at close by the libraries that close
    }
    await sleep(params.settleMs);
    collectGarbage();
    const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
    histogram.enable();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await sleep(params.idleMs);
    const cpu = process.cpuUsage(cpuBefore);
    const wallMs = performance.now() - started;
    histogram.disable();
    for (const bucket of buckets) library.close(bucket);
    return {
      cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      delayP99: lateness(histogram.percentile(99)),
      delayMax: lateness(histogram.max),
    };
  },
  targets: [
    { text: '≤ 1% CPU', check: (row) => row.summary.cpuPct.median <= 1 },
    { text: 'event-loop delay p99 ≤ 1 ms', check: (row) => row.summary.delayP99.median <= 1 },
  ],
};
