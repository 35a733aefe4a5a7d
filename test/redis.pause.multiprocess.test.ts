import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { clientKinds, connect } from './redis/clients.js';
import { expectNothingDuringPause, pauseAcross, redisEntry } from './redis/pauseProcess.js';
import { announceSkip, redisTarget } from './redis/server.js';

// Sleepers in another Node process (test/redis/pauseWorker.mjs) are granted nothing during a pause made
// here, in real time with Redis time: with `pausable: true` (they ask at their instant), and with the
// default options, reserved before the key's first pause (the pause's notice re-plans them). Needs the
// built package (dist/).
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.pause.multiprocess.test.ts', target.skip);
const WORKER = fileURLToPath(new URL('./redis/pauseWorker.mjs', import.meta.url));

describe.skipIf('skip' in target)('RedisTokenBucketFilter.pause() and sleepers in another process', () => {
  afterAll(async () => {
    if (!('skip' in target)) await target.stop();
  });

  it('pausable: grants the other process nothing during the pause, then one token per interval', async () => {
    if ('skip' in target) return;
    const connection = await connect('ioredis', target.url);
    try {
      expectNothingDuringPause(await pauseAcross(target, 'ioredis', connection.client, { pausable: true }));
    } finally {
      await connection.close();
    }
  }, 30_000);

  it.each(clientKinds)(
    'default options (%s): sleepers reserved before the key’s first pause grant nothing during it',
    async (kind) => {
      if ('skip' in target) return;
      const connection = await connect(kind, target.url);
      try {
        expectNothingDuringPause(await pauseAcross(target, kind, connection.client, {}));
      } finally {
        await connection.close();
      }
    },
    30_000,
  );

  it.each(clientKinds)(
    'a process whose bucket had sleepers ends with the bucket open and idle (%s): nothing keeps it alive',
    async (kind) => {
      if ('skip' in target) return;
      const config = {
        entry: redisEntry(),
        url: target.url,
        client: kind,
        prefix: `tbf-pause-exit:${process.pid}:`,
        key: `${kind}:${Date.now()}`,
        capacity: 1,
        refillInterval: 100,
        calls: 2,
        exit: true,
      };
      const started = performance.now();
      const child = spawn(process.execPath, [WORKER, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearTimeout(killer);
      expect(stdout.trim().split('\n'), stderr).toEqual(['ready 2', 'done']);
      expect(code, 'exited by itself (not killed after 8 s)').toBe(0);
      expect(performance.now() - started).toBeLessThan(8000);
    },
    15_000,
  );
});
