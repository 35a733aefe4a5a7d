// Size budget: bundles what a user's bundler would ship for each import below (minified, tree-shaken),
// compresses it with gzip and brotli, and fails when a budget is exceeded or when Redis or worker-thread
// code leaks into the core. Run after the build: `node scripts/check-size.mjs` (part of `npm test`).
import { buildSync } from 'esbuild';
import { brotliCompressSync, gzipSync } from 'node:zlib';

/** Code that must never reach the core: Redis and thread-sharing code live in their own subpaths. */
const notCore = [/EVALSHA/i, /redis/i, /SharedArrayBuffer/, /Atomics\./, /worker_threads/];
/**
 * Budgets in bytes of gzip-compressed, minified output, about 5% above what the build measured on
 * 2026-12-02 (README, "Bundle size"): a change that grows a bundle past its budget must say why. That
 * day's growth (+1.1 kB on the lazy bucket) is the hostile-input and clock work: checked clock
 * readings, the timeline that re-bases on a clock change, one abort listener per signal, own-property
 * option reading, and error messages that say why a value is refused. The second growth that day
 * (+0.65 kB on the lazy bucket, to 6.35 kB) is the one core under every bucket: the decision module
 * (`decide.ts`) and the one waiting module (`WaitingRoom.ts`, which also holds the Redis bucket's calls
 * in flight), shared with the shared and Redis buckets, plus node:test's mock clock. Mangling the
 * internal property names was measured to save only 6% (6.35 → 5.96 kB), so the issue's 3 kB goal
 * needs a leaner structure, not a minifier setting. Module-level objects are marked `@__PURE__`, so
 * that an import of `wrap` or the HTTP helpers alone does not keep the buckets' code.
 * 2026-12-02, later: `pause(ms)` (the resume gate in both limit states, the timer kind's resume timer,
 * keyed `pause(key, ms)` and its checks), +0.27 kB on the lazy bucket (6.36 → 6.63 kB).
 */
const checks = [
  {
    name: 'LazyTokenBucketFilter',
    code: "export { LazyTokenBucketFilter } from './dist/index.js';",
    gzip: 6950,
    forbidden: notCore,
  },
  {
    name: 'TokenBucketFilterFactory',
    code: "export { TokenBucketFilterFactory } from './dist/index.js';",
    gzip: 8950,
    forbidden: notCore,
  },
  // 2026-12-02, later: wrap()'s concurrency cap and keyed wrap, and the HTTP header helpers, +2.0 kB.
  { name: 'wrap', code: "export { wrap } from './dist/index.js';", gzip: 3400, forbidden: notCore },
  {
    name: 'rateLimitHeaders, rateLimitPolicy',
    code: "export { rateLimitHeaders, rateLimitPolicy } from './dist/index.js';",
    gzip: 1800,
    forbidden: notCore,
  },
  { name: 'everything in the root entry', code: "export * from './dist/index.js';", gzip: 11500, forbidden: notCore },
  {
    // 9.05 kB measured on 2026-12-02 after the shared bucket moved onto the core (decide(), LimitState,
    // WaitingRoom, SignalWatch, the options readers) and gained limits, reconfigure() and stats():
    // it now ships the in-process buckets' own code instead of a bigint copy of their decision.
    // 9.84 kB after pause() across threads (the gate in the layout, the voiding of every thread's
    // reservations, the core's pauseUntil and the ms check), +0.44 kB.
    name: 'token-bucket-filter/shared',
    code: "export * from './dist/shared.js';",
    gzip: 10300,
    forbidden: [/EVALSHA/i, /redis/i],
  },
];

let failed = false;
console.log('entry                                     min B   gzip B  brotli B  budget (gzip)');
for (const check of checks) {
  const [output] = buildSync({
    stdin: { contents: check.code, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'neutral',
    write: false,
  }).outputFiles;
  const bytes = output.contents;
  const gzip = gzipSync(bytes, { level: 9 }).length;
  const brotli = brotliCompressSync(bytes).length;
  const over = gzip > check.gzip;
  console.log(
    `${check.name.padEnd(40)} ${String(bytes.length).padStart(6)} ${String(gzip).padStart(8)} ${String(brotli).padStart(9)}  ${check.gzip}${over ? '  OVER BUDGET' : ''}`,
  );
  const text = output.text;
  for (const pattern of check.forbidden) {
    if (pattern.test(text)) {
      console.error(`${check.name}: the bundle contains ${pattern}, which belongs in a subpath export`);
      failed = true;
    }
  }
  failed ||= over;
}
if (failed) process.exit(1);
