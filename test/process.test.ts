import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { distEsmUrl, requireBuild } from './support/dist.js';

/** Runs an ES module snippet in a fresh Node process and reports how it ended and how long it took. */
function runNode(source: string): { status: number | null; stdout: string; stderr: string; ms: number } {
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--input-type=module', '--eval', source], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms: performance.now() - started };
}

describe.each(['lazy', 'timer'])('a child process using a %s bucket', (kind) => {
  beforeAll(requireBuild);

  it('exits promptly when its work is done: an idle bucket never keeps it alive', () => {
    const { status, stdout, stderr, ms } = runNode(`
      import { TokenBucketFilterFactory } from ${JSON.stringify(distEsmUrl)};
      const bucket = TokenBucketFilterFactory.create({ capacity: 5, refillInterval: 60_000, kind: ${JSON.stringify(kind)} });
      await bucket.getToken();
      console.log('done', bucket.available);
    `);
    expect(stderr).toBe('');
    expect(stdout.trim()).toBe('done 4');
    expect(status).toBe(0);
    expect(ms).toBeLessThan(10_000); // the refill interval is a minute: an exit before it means nothing held the process
  });

  it('stays alive while it awaits a token on an empty bucket, and is granted', () => {
    const { status, stdout, stderr } = runNode(`
      import { TokenBucketFilterFactory } from ${JSON.stringify(distEsmUrl)};
      const bucket = TokenBucketFilterFactory.create({ capacity: 1, initialTokens: 0, refillInterval: 300, kind: ${JSON.stringify(kind)} });
      const started = performance.now();
      await bucket.getToken();
      await bucket.getToken();
      console.log(Math.round((performance.now() - started) / 100) * 100);
    `);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(Number(stdout.trim())).toBeGreaterThanOrEqual(600);
  });
});

// The other in-process kinds, each created and used the way its README section shows.
const others: Array<[name: string, setup: string, use: string]> = [
  [
    'keyed',
    `import { TokenBucketFilterFactory } from ${JSON.stringify(distEsmUrl)};
     const bucket = TokenBucketFilterFactory.createKeyed({ capacity: 2, refillInterval: 300 });`,
    `await bucket.getToken('a'); await bucket.getToken('a'); await bucket.getToken('a');`,
  ],
  [
    'shared',
    `import { SharedTokenBucketFilter } from ${JSON.stringify(distEsmUrl.replace(/index\.js$/, 'shared.js'))};
     const bucket = new SharedTokenBucketFilter({ capacity: 2, refillInterval: 300 });`,
    `await bucket.getToken(); await bucket.getToken(); await bucket.getToken();`,
  ],
];

describe.each(others)('a child process using a %s bucket', (_name, setup, use) => {
  beforeAll(requireBuild);

  it('waits for a token on an empty bucket, then exits by itself without close()', () => {
    const { status, stdout, stderr, ms } = runNode(`
      ${setup}
      const started = performance.now();
      ${use}
      console.log(performance.now() - started >= 290 ? 'waited' : 'did not wait');
    `);
    expect(stderr).toBe('');
    expect(stdout.trim()).toBe('waited');
    expect(status).toBe(0);
    expect(ms).toBeLessThan(10_000);
  });
});
