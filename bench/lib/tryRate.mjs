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

/**
 * Builds a try scenario (try-hit, try-miss): non-waiting calls per second on a bucket described by
 * `spec`, interleaved in rounds, with the target ≥ 0.9× the inline reference and ahead of every peer.
 */
export function tryScenario({ name, title, description, spec }) {
  return {
    name,
    title,
    description,
    isolation: 'in-process',
    warmup: true,
    params: {
      full: { rounds: 15, sampleMs: 200, batch: 10_000 },
      quick: { rounds: 2, sampleMs: 20, batch: 1_000 },
    },
    spec,
    columns: [
      { key: 'opsPerSec', label: 'calls/s', unit: 'ops/s', better: 'higher', ratio: true },
      { key: 'grantedPct', label: 'took a token', unit: '%' },
    ],
    headline: 'opsPerSec',
    summary: ['opsPerSec'],
    skip: noTry,
    measure(library, params) {
      return measureTryRate(library, this.spec, params);
    },
    targets: [
      {
        text: '≥ 0.9× the inline reference and ahead of every peer',
        check: (row, rows) =>
          row.ratio.opsPerSec >= 0.9 &&
          rows.every(
            (other) => other.role !== 'peer' || !(other.summary?.opsPerSec.median >= row.summary.opsPerSec.median),
          ),
      },
    ],
  };
}
