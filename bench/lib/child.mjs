/**
 * Runs one measurement (one scenario, one library, one round) in a fresh Node process started with
 * --expose-gc, so heap and CPU figures belong to that library alone and nothing it leaves behind
 * (timers, garbage, JIT state) touches the next one.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('./child-entry.mjs', import.meta.url));
const RESULT_PREFIX = 'RESULT ';
const ERROR_PREFIX = 'ERROR ';

/** Resolves with the sample the child measured; rejects with the child's stderr when it fails. */
export function measureInChild(scenarioName, libraryId, params, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', entry, scenarioName, libraryId, JSON.stringify(params)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((candidate) => candidate.startsWith(RESULT_PREFIX));
      if (code === 0 && line !== undefined) {
        resolve(JSON.parse(line.slice(RESULT_PREFIX.length)));
        return;
      }
      const failure = stdout.split('\n').find((candidate) => candidate.startsWith(ERROR_PREFIX));
      if (failure !== undefined) {
        reject(new Error(JSON.parse(failure.slice(ERROR_PREFIX.length))));
        return;
      }
      const why = signal === 'SIGKILL' ? `timed out after ${timeoutMs} ms` : `exited with ${code ?? signal}`;
      reject(new Error(`${why}${stderr.trim() === '' ? '' : `: ${stderr.trim().split('\n').slice(-3).join(' / ')}`}`));
    });
  });
}

/** The child side: prints the sample on one line and exits (pending peer timers must not hold it). */
export function reportFromChild(sample) {
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(sample)}\n`, () => process.exit(0));
}

/** The child side of a failure: prints the error's message on one line and exits with status 1. */
export function failFromChild(error) {
  const message = error instanceof Error ? error.message : String(error);
  process.stdout.write(`${ERROR_PREFIX}${JSON.stringify(message)}\n`, () => process.exit(1));
}
