/**
 * Shared measurement of the non-waiting call (try-hit, try-miss): calls the library's own try loop in
 * batches until `params.sampleMs` have passed, and reports calls per second.
 */
import { promisify } from 'node:util';

const setImmediateAsync = promisify(setImmediate);

/** Calls per second of `library.tryLoop` on a bucket built from `spec`, and the share that took a token. */
export async function measureTryRate(library, spec, params) {
  const bucket = await library.create(spec);
  const batch = params.batch;
  let calls = 0;
  let granted = 0;
  const started = performance.now();
  let elapsed;
  do {
    const result = library.tryLoop(bucket, batch);
    granted += typeof result === 'number' ? result : await result;
    calls += batch;
    elapsed = performance.now() - started;
  } while (elapsed < params.sampleMs);
  library.close(bucket);
  await setImmediateAsync(); // let timers and promise jobs of the closed bucket run before the next library
  return { opsPerSec: (calls / elapsed) * 1000, grantedPct: (granted / calls) * 100 };
}

/** Why a library cannot take part in a try scenario, or undefined if it can. */
export function noTry(library) {
  return library.tryLoop === undefined ? library.noTry : undefined;
}
