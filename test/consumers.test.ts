// The consumer matrix (scripts/consumers.mjs) as one test, opt-in with TBF_CONSUMERS=1: it installs the
// packed package into a dozen consumer projects and runs each one's tests, which takes minutes, so the
// normal unit run leaves it out. It packs the dist/ already built when there is one (`npm test` builds
// before it runs the tests; rebuilding here would empty dist/ under the tests that run beside it).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const driver = fileURLToPath(new URL('../scripts/consumers.mjs', import.meta.url));
const built = existsSync(fileURLToPath(new URL('../dist/index.js', import.meta.url)));
/** The driver's own limit: a cold run (empty npm cache) took about 3 minutes on 2 cores. */
const TIMEOUT = 20 * 60_000;

/** Runs the driver; resolves to its exit code and everything it printed. */
function runDriver(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [driver, ...(built ? ['--no-build'] : [])], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, output });
    });
  });
}

it.runIf(process.env.TBF_CONSUMERS === '1')(
  'every row of the consumer matrix passes, or fails as expectedFailures says',
  async () => {
    const { code, output } = await runDriver();
    console.log(output);
    expect(code, output).toBe(0);
  },
  TIMEOUT,
);
