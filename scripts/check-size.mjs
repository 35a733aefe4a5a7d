// Size budget: bundles what a user's bundler would ship for each import below (minified, tree-shaken),
// compresses it with gzip and brotli, and fails when a budget is exceeded or when Redis or worker-thread
// code leaks into the core. Run after the build: `node scripts/check-size.mjs` (part of `npm test`).
import { buildSync } from 'esbuild';
import { brotliCompressSync, gzipSync } from 'node:zlib';

/** Budgets in bytes of gzip-compressed, minified output. */
const checks = [
  { name: 'LazyTokenBucketFilter', code: "export { LazyTokenBucketFilter } from './dist/index.js';", gzip: 2900 },
  {
    name: 'TokenBucketFilterFactory (lazy + timer)',
    code: "export { TokenBucketFilterFactory } from './dist/index.js';",
    gzip: 3200,
  },
];
/** Code that must never reach the core entries above. */
const forbidden = [/EVALSHA/i, /redis/i, /SharedArrayBuffer/, /Atomics\./, /worker_threads/];

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
  for (const pattern of forbidden) {
    if (pattern.test(text)) {
      console.error(`${check.name}: the bundle contains ${pattern}, which belongs in a subpath export`);
      failed = true;
    }
  }
  failed ||= over;
}
if (failed) process.exit(1);
