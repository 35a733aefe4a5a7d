import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, Socket } from 'node:net';

/**
 * How the Redis tests find a server. `TBF_REDIS_URL` (set by scripts/ci-redis.sh) names one to use;
 * without it the tests start a private `redis-server` (on a free port, persistence off) when the binary
 * is on the PATH. Under `CI=true` a missing server fails the run; locally the tests skip, saying why.
 */
export const REDIS_URL_VARIABLE = 'TBF_REDIS_URL';

/** A redis-server this test process started, stopped by its pid. */
export interface LaunchedRedis {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port (its data is lost: no persistence). */
  restart(): Promise<void>;
}

/** Whether a `redis-server` binary can be run. */
export function redisServerInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Returns a TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Resolves true if something answers PING with +PONG at host:port within `timeout` ms. */
export function ping(port: number, host = '127.0.0.1', timeout = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeout, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    socket.connect(port, host, () => socket.write('PING\r\n'));
  });
}

async function waitFor(check: () => Promise<boolean>, what: string, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function startProcess(port: number): ChildProcess {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  child.unref();
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a private redis-server on a free port of 127.0.0.1, persistence off, and waits until it answers. */
export async function launchRedis(): Promise<LaunchedRedis> {
  const port = await freePort();
  let child = startProcess(port);
  await waitFor(() => ping(port), `redis-server on port ${port}`);
  const stop = async (): Promise<void> => {
    const current = child;
    if (current.exitCode !== null || current.signalCode !== null) return;
    current.kill('SIGTERM');
    const timer = setTimeout(() => current.kill('SIGKILL'), 3000);
    await exited(current);
    clearTimeout(timer);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    stop,
    async restart() {
      await stop();
      child = startProcess(port);
      await waitFor(() => ping(port), `redis-server restarted on port ${port}`);
    },
  };
}

/** The server the shared Redis tests use, or why there is none. */
export type RedisTarget = { url: string; stop(): Promise<void> } | { skip: string };

/**
 * Finds the server for this test file: `$TBF_REDIS_URL` if set (it must answer), else a private
 * redis-server if one can be started. Throws under `CI=true` when there is none (the Redis tests must
 * never skip in CI); otherwise returns the reason to skip, which the caller prints.
 */
export async function redisTarget(): Promise<RedisTarget> {
  const fromEnv = process.env[REDIS_URL_VARIABLE];
  const ci = process.env.CI === 'true';
  if (fromEnv !== undefined && fromEnv !== '') {
    const url = new URL(fromEnv);
    if (!(await ping(Number(url.port || 6379), url.hostname))) {
      throw new Error(`${REDIS_URL_VARIABLE}=${fromEnv} does not answer PING`);
    }
    return { url: fromEnv, stop: () => Promise.resolve() };
  }
  if (redisServerInstalled()) {
    const launched = await launchRedis();
    return { url: launched.url, stop: () => launched.stop() };
  }
  const reason = `no Redis: ${REDIS_URL_VARIABLE} is unset and redis-server is not installed`;
  if (ci) throw new Error(`${reason} (CI=true: the Redis tests must run; see scripts/ci-redis.sh)`);
  return { skip: reason };
}

/** Prints, once, that the Redis tests of `file` are skipped and why. */
export function announceSkip(file: string, reason: string): void {
  console.warn(
    `\n  SKIPPED ${file}: ${reason}.\n  Install redis-server or set ${REDIS_URL_VARIABLE}=redis://host:port to run them.\n`,
  );
}
