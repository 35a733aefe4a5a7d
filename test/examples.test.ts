import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, requireBuild } from './support/dist.js';

const run = promisify(execFile);

/** Runs an example program with node from the package folder (so it imports this package by name). */
async function runExample(name: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(repoRoot, 'examples', name)], {
    cwd: repoRoot,
    timeout: 30_000,
  });
  return stdout;
}

// Smoke tests of the programs in examples/, so that they cannot rot.
describe('examples', () => {
  beforeAll(requireBuild);

  it('lesson.mjs (npm run demo) grants ten callers in order, one second apart', async () => {
    const lines = (await runExample('lesson.mjs')).trim().split('\n');
    expect(lines).toHaveLength(11);
    const grants = lines.slice(1).map((line) => {
      const match = /^\s*([\d.]+)s {2}caller (\d+) granted$/.exec(line);
      if (!match) throw new Error(`unexpected line: ${line}`);
      return { at: Number(match[1]), caller: Number(match[2]) };
    });
    expect(grants.map((g) => g.caller)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    grants.forEach((grant, i) => {
      expect(grant.at).toBeGreaterThanOrEqual(i + 1 - 0.002);
      expect(grant.at).toBeLessThan(i + 1 + 0.5);
    });
  }, 30_000);

  it('http-429-server.mjs answers 429 with Retry-After and RateLimit headers once a client is over its limit', async () => {
    const lines = (await runExample('http-429-server.mjs')).trim().split('\n');
    expect(lines).toEqual([
      '200 "per-client";r=2;t=1 ',
      '200 "per-client";r=1;t=2 ',
      '200 "per-client";r=0;t=3 ',
      '429 "per-client";r=0;t=3 1',
    ]);
  });

  // Each framework's middleware, on a real server on 127.0.0.1 (port 0) that the example sends itself
  // requests to: the same headers as the node:http server, per client.
  it.each(['express-middleware.mjs', 'fastify-hook.mjs', 'hono-middleware.mjs'])(
    '%s limits each client and sets RateLimit-Policy, RateLimit and Retry-After',
    async (name) => {
      const lines = (await runExample(name)).trim().split('\n');
      expect(lines).toEqual([
        'alice 200 ok "per-client";r=2;t=1 ',
        'alice 200 ok "per-client";r=1;t=2 ',
        'alice 200 ok "per-client";r=0;t=3 ',
        'alice 429 Too Many Requests "per-client";r=0;t=3 1',
        'bob 200 ok "per-client";r=2;t=1 ',
        'RateLimit-Policy: "per-client";q=3;w=3',
      ]);
    },
  );

  it('api-client.mjs stays under the provider limit: no request refused', async () => {
    const output = await runExample('api-client.mjs');
    expect(output).toContain('statuses: 200 200 200 200 200 200 200 200 200 200 200 200');
    expect(output).toContain('refused: 0');
    expect(output).toContain('12 requests took at least 1000 ms');
  });

  it('api-client.mjs pauses on a real 429 with Retry-After, then every retry goes through', async () => {
    const output = await runExample('api-client.mjs');
    expect(output).toContain('backoff: 5 refused with Retry-After 1 s');
    expect(output).toContain('after the pause: 200 200 200 200 200');
    expect(output).toContain('nothing was sent for at least 1000 ms after the last 429');
  });
});
