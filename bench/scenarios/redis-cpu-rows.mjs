/**
 * The rows the Redis CPU benches measure (`redis-cpu.mjs`: µs per decision; `redis-cpu-instructions.mjs`:
 * instructions per decision under callgrind): which script each runs on which key, with which arguments.
 * Not a scenario of `index.mjs`.
 *
 * The bucket rows' arguments are not written out here: each is what the store of the build under test
 * sent for that call (a `RedisTokenBucketFilter` on a recording runner, against the same Redis), so a
 * build of another revision (`--baseline <rev>`) is sent its own layout, by its own code:
 * - `grant`: tryGetToken() on a hot key that always has tokens (the lean path: GET + SET PX);
 * - `refusal`: tryGetToken() on an empty key (no write);
 * - `peek`: waitTime();
 * - `grant, 2 limits`: the same grant with a second limit (the general path);
 * - `grant, batch of 16 alike` / `unlike (per decision)` (the current build only): one call deciding 16
 *   takes, as a batch of calls made while one was in flight travels: the grant's arguments with 16 equal
 *   takes (one run) or 16 different maxWaits (16 runs); its cost per call divided by 16;
 * - `rate-limiter-flexible consume()`: the Lua script of its `RateLimiterRedis` (SET NX, INCRBY, PTTL),
 *   with the arguments its `consume()` sends;
 * - `return 1`: the floor of any script call.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));

/** The Redis entry of the built package: dist/, or $TBF_DIST_DIR. */
export async function currentBuild() {
  const entry = join(process.env.TBF_DIST_DIR ?? join(repo, 'dist'), 'redis.js');
  if (!existsSync(entry))
    throw new Error(`${entry} is missing: build the package first (npx tsup), or set TBF_DIST_DIR`);
  return import(pathToFileURL(entry).href);
}

/**
 * The Redis entry of revision `rev`, built from its own sources: its src/ (`git archive`) in a
 * temporary folder, bundled by esbuild (src/ has no runtime dependency). So its script is the one that
 * revision assembles, and its store sends that revision's arguments.
 */
export async function revisionBuild(rev) {
  const dir = mkdtempSync(join(tmpdir(), 'tbf-baseline-'));
  try {
    const tar = execFileSync('git', ['archive', '--format=tar', rev, 'src'], { cwd: repo, maxBuffer: 1 << 30 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    const entry = join(dir, 'src', 'redis', 'index.ts');
    if (!existsSync(entry)) throw new Error(`${rev} has no src/redis/index.ts`);
    const { build } = await import('esbuild');
    const outfile = join(dir, 'redis.mjs');
    await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', outfile, logLevel: 'error' });
    return await import(pathToFileURL(outfile).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The arguments of the last script call `act(bucket)` made, on a `RedisTokenBucketFilter` of `lib`
 * with `options` whose runner records what it sends (and sends it on to `redis`, an ioredis client).
 */
async function sentArgs(lib, redis, key, options, act) {
  const sent = [];
  const runner = {
    evalsha: (sha, keys, args) => {
      sent.push([...args]);
      return redis.evalsha(sha, keys.length, ...keys, ...args);
    },
    eval: (script, keys, args) => {
      sent.push([...args]);
      return redis.eval(script, keys.length, ...keys, ...args);
    },
  };
  const bucket = new lib.RedisTokenBucketFilter({ client: runner, key, ...options });
  try {
    await act(bucket);
  } finally {
    bucket.close();
  }
  const last = sent.at(-1);
  if (last === undefined) throw new Error(`${key}: the store made no script call`);
  return last;
}

const BIG = 1_000_000_000;
const HOT = { capacity: BIG, refillTokens: 1, refillInterval: 1000 };
const EMPTY = { capacity: 1, refillTokens: 1, refillInterval: 100_000_000 };
const twice = async (bucket) => {
  await bucket.tryGetToken();
  await bucket.tryGetToken();
};
const CASES = [
  { name: 'grant', key: '{grant}', options: HOT, act: twice },
  { name: 'refusal', key: '{refuse}', options: EMPTY, act: twice },
  { name: 'peek', key: '{refuse}', options: EMPTY, act: (bucket) => bucket.waitTime() },
  {
    name: 'grant, 2 limits',
    key: '{grant2}',
    options: { limits: [HOT, { capacity: BIG, refillTokens: 1, refillInterval: 3_600_000 }] },
    act: twice,
  },
];
export const BATCH = 16;

/**
 * The rows, their scripts loaded into the Redis of `redis` (an ioredis client): each `{ name, sha, key,
 * argv, per }` (per: decisions per call). `baseline`, if given, is `{ rev, lib }` (see
 * {@link revisionBuild}): its script runs the bucket rows too, on keys of its own.
 */
export async function redisCpuRows(redis, lib, baseline) {
  const rows = [];
  const bucketRows = async (build, prefix, suffix) => {
    const sha = await redis.script('LOAD', build.BUCKET_SCRIPT);
    for (const { name, key, options, act } of CASES) {
      const argv = await sentArgs(build, redis, `capture:${prefix}:${key}`, options, act);
      rows.push({ name: `${name}${suffix}`, sha, key: `${prefix}:${key}`, argv, per: 1 });
    }
    return sha;
  };
  const sha = await bucketRows(lib, 'cpu', '');
  // The batches: the grant's head (op, config, now, what a missing key holds), then runs of takes
  // (times, count, maxWait), as the current layout has them.
  const head = rows[0].argv.slice(0, -3);
  rows.push({
    name: `grant, batch of ${BATCH} alike (per decision)`,
    sha,
    key: 'cpu:{batch}',
    argv: [...head, String(BATCH), '1', '0'], // one run of 16 takes
    per: BATCH,
  });
  rows.push({
    name: `grant, batch of ${BATCH} unlike (per decision)`,
    sha,
    key: 'cpu:{batch2}',
    argv: [...head, ...Array.from({ length: BATCH }, (_, i) => ['1', '1', String(1000 + i)]).flat()], // 16 runs
    per: BATCH,
  });
  const { RateLimiterRedis } = createRequire(import.meta.url)('rate-limiter-flexible');
  // Its script, as its constructor keeps it (a client without defineCommand registers nothing).
  const rlfScript = new RateLimiterRedis({ storeClient: {}, points: 1, duration: 1 })._incrTtlLuaScript;
  rows.push({
    name: 'rate-limiter-flexible consume()',
    sha: await redis.script('LOAD', rlfScript),
    key: 'rlf:{hot}',
    argv: ['1', '1000000', '1000000000000', '1000000'], // points, secDuration, this.points, this.duration
    per: 1,
  });
  rows.push({ name: 'return 1', sha: await redis.script('LOAD', 'return 1'), key: 'cpu:{one}', argv: [], per: 1 });
  if (baseline !== undefined) await bucketRows(baseline.lib, 'old', ` (${baseline.rev})`);
  return rows;
}
