/**
 * One row of `bench/instructions.mjs`, run under callgrind:
 *
 *   node --single-threaded instructionsChild.mjs <dist dir> <lazy|timer|inline> <try-hit|try-miss|get-hit> <calls>
 *
 * Makes `calls` calls on one bucket that always has tokens (try-hit, get-hit) or never has any
 * (try-miss), and exits with status 1 if any call was answered otherwise, so that a count is never
 * of the wrong path.
 */
import { pathToFileURL } from 'node:url';
import { InlineTokenBucket } from './inline.mjs';

const [dist, kind, mode, callsArg] = process.argv.slice(2);
const calls = Number(callsArg);
const hit = mode !== 'try-miss';
// A refill a second of a billion tokens: no step comes during a run, so every call takes the same path.
const spec = { capacity: hit ? 1e9 : 1, refillTokens: 1, refillInterval: 1e9, initialTokens: hit ? 1e9 : 0 };

let bucket;
if (kind === 'inline') {
  bucket = new InlineTokenBucket(spec.capacity, spec.refillTokens, spec.refillInterval, spec.initialTokens);
} else {
  const lib = await import(pathToFileURL(`${dist}/index.js`).href);
  bucket =
    kind === 'lazy'
      ? new lib.LazyTokenBucketFilter(spec)
      : lib.TokenBucketFilterFactory.create({ ...spec, kind: 'timer' });
}

let granted = 0;
if (mode === 'get-hit') {
  for (let i = 0; i < calls; i += 1) {
    await bucket.getToken();
    granted += 1;
  }
} else {
  for (let i = 0; i < calls; i += 1) if (bucket.tryGetToken()) granted += 1;
}
bucket.close?.();
const expected = hit ? calls : 0;
if (granted !== expected) {
  console.error(`${kind} ${mode}: ${granted} calls granted, expected ${expected}`);
  process.exit(1);
}
