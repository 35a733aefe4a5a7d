#!/usr/bin/env node
/**
 * The cost of a wrap()ped call without the new options, against another build (to check that adding
 * `concurrency` and `key` cost plain wrap() nothing):
 *
 *   npm run build && node --expose-gc bench/wrap-overhead.mjs [other-dist-dir]
 *
 * Each round awaits 200,000 calls of a wrapped no-op (in batches of 1,000) on a bucket that never runs
 * out, for this build (`dist/`, or `$TBF_DIST_DIR`) and, when given, the other build, alternately;
 * prints the median calls per second of 9 rounds for each.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { distDir } from './lib/libraries.mjs';

const CALLS = 200_000;
const BATCH = 1000;
const ROUNDS = 9;

async function load(dir) {
  const { LazyTokenBucketFilter, wrap } = await import(pathToFileURL(`${resolve(dir)}/index.js`).href);
  const bucket = new LazyTokenBucketFilter({ capacity: 2 ** 40, refillTokens: 2 ** 20, refillInterval: 1 });
  return wrap(bucket, (i) => i);
}

async function round(wrapped) {
  const start = performance.now();
  for (let done = 0; done < CALLS; done += BATCH) {
    const batch = [];
    for (let i = 0; i < BATCH; i += 1) batch.push(wrapped(i));
    await Promise.all(batch);
  }
  return CALLS / ((performance.now() - start) / 1000);
}

const builds = [['this build', distDir]];
if (process.argv[2] !== undefined) builds.push(['other build', process.argv[2]]);
const subjects = [];
for (const [name, dir] of builds) subjects.push({ name, dir, wrapped: await load(dir), samples: [] });
for (const subject of subjects) await round(subject.wrapped); // warm-up
for (let r = 0; r < ROUNDS; r += 1) {
  for (const subject of r % 2 === 0 ? subjects : [...subjects].reverse()) {
    globalThis.gc?.();
    subject.samples.push(await round(subject.wrapped));
  }
}
for (const { name, dir, samples } of subjects) {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(
    `${name} (${dir}): ${(median / 1e6).toFixed(2)} M calls/s (${(sorted[0] / 1e6).toFixed(2)} – ${(sorted.at(-1) / 1e6).toFixed(2)})`,
  );
}
