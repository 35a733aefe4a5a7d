// One process of the multi-process test: shares one Redis bucket with the others for a few seconds.
// Input: one JSON argument (see test/redis.multiprocess.test.ts; `errorPause`, ms, optional: how long
// a getToken() loop waits after a failure). Output: one JSON line on stdout.
import { pathToFileURL } from 'node:url';

const config = JSON.parse(process.argv[2]);
const { RedisTokenBucketFilter } = await import(pathToFileURL(config.entry).href);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

let client;
let quit;
if (config.seeds !== undefined) {
  // A Redis Cluster, through the library's cluster client, with the settings of test/redis/clusterClients.ts.
  if (config.client === 'node-redis') {
    const { createCluster } = await import('redis');
    client = createCluster({
      rootNodes: config.seeds.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
      defaults: { disableOfflineQueue: true, socket: { reconnectStrategy: () => 100, connectTimeout: 1000 } },
      topologyRefreshOnReconnectionAttemptStrategy: 200,
    });
    await client.connect();
    quit = () => client.close();
  } else {
    const { Cluster } = await import(config.client === 'iovalkey' ? 'iovalkey' : 'ioredis');
    client = new Cluster(config.seeds, {
      redisOptions: { enableOfflineQueue: false, maxRetriesPerRequest: 0 },
      lazyConnect: true,
    });
    await client.connect();
    quit = () => client.quit();
  }
} else if (config.client === 'ioredis' || config.client === 'iovalkey') {
  const { Redis } = await import(config.client);
  client = new Redis(config.url, { enableOfflineQueue: false, lazyConnect: true });
  await client.connect();
  quit = () => client.quit();
} else {
  const { createClient } = await import('redis');
  client = await createClient({ url: config.url, disableOfflineQueue: true }).connect();
  quit = () => client.quit();
}

// A connection lost (a restarted server) is an error event: without a listener node-redis throws it.
client.on('error', () => undefined);

const bucket = new RedisTokenBucketFilter({
  client,
  key: config.key,
  prefix: config.prefix,
  capacity: config.capacity,
  refillTokens: config.refillTokens,
  refillInterval: config.refillInterval,
  redisTimeout: 5000,
});
const grants = [];
const errors = [];
let issued = 0;
let settled = 0;
let tries = 0;
let triesGranted = 0;

async function getLoop() {
  while (now() < config.endAt) {
    issued += 1;
    try {
      await bucket.getToken();
      grants.push(now());
    } catch (error) {
      errors.push(String(error));
      // A loop that retries a refusal at once never lets a timer run (the breaker refuses in a microtask).
      if (config.errorPause !== undefined) await sleep(config.errorPause);
    }
    settled += 1;
  }
}

async function tryLoop() {
  while (now() < config.endAt) {
    issued += 1;
    tries += 1;
    try {
      if (await bucket.tryGetToken()) {
        triesGranted += 1;
        grants.push(now());
      }
    } catch (error) {
      errors.push(String(error));
    }
    settled += 1;
    await sleep(config.tryPause);
  }
}

await sleep(config.startAt - now());
const loops = [];
for (let i = 0; i < config.getLoops; i += 1) loops.push(getLoop());
for (let i = 0; i < config.tryLoops; i += 1) loops.push(tryLoop());
await Promise.all(loops);
const pending = bucket.pending;
bucket.close();
await bucket.idle();
await quit();
process.stdout.write(`${JSON.stringify({ grants, errors, issued, settled, pending, tries, triesGranted })}\n`);
