// One process of test/redis.pause.multiprocess.test.ts (and its cluster twin): sleeps on reservations
// of a shared Redis bucket while another process pauses it. Input: one JSON argument (`client`:
// ioredis, node-redis or iovalkey, default ioredis; `seeds` for a cluster, else `url`; `exit`: see
// below). Output: a line `ready <pending>` once its calls are reserved (every Redis call answered, the
// pause notices' subscription confirmed), then one JSON line with the epoch ms of each grant.
// With `exit`: takes its calls, prints `done`, quits the client and ends without closing the bucket.
import { pathToFileURL } from 'node:url';

const config = JSON.parse(process.argv[2]);
const { RedisTokenBucketFilter } = await import(pathToFileURL(config.entry).href);
const now = () => performance.timeOrigin + performance.now();
const kind = config.client ?? 'ioredis';

let client;
if (config.seeds !== undefined && kind === 'node-redis') {
  const { createCluster } = await import('redis');
  client = createCluster({
    rootNodes: config.seeds.map(({ host, port }) => ({ url: `redis://${host}:${port}` })),
    defaults: { disableOfflineQueue: true, socket: { reconnectStrategy: () => 100, connectTimeout: 1000 } },
  });
  await client.connect();
} else if (config.seeds !== undefined) {
  const { Cluster } = await import(kind);
  client = new Cluster(config.seeds, {
    redisOptions: { enableOfflineQueue: false, maxRetriesPerRequest: 0 },
    lazyConnect: true,
  });
  await client.connect();
} else if (kind === 'node-redis') {
  const { createClient } = await import('redis');
  client = await createClient({ url: config.url, disableOfflineQueue: true }).connect();
} else {
  const { Redis } = await import(kind);
  client = new Redis(config.url, { enableOfflineQueue: false, lazyConnect: true });
  await client.connect();
}
client.on('error', () => undefined);

const bucket = new RedisTokenBucketFilter({
  client,
  key: config.key,
  prefix: config.prefix,
  capacity: config.capacity,
  refillTokens: 1,
  refillInterval: config.refillInterval,
  ...(config.pausable === undefined ? {} : { pausable: config.pausable }),
  redisTimeout: 5000,
});
// Empty first, so that every call below must sleep on a reservation.
while (await bucket.tryGetToken());
const grants = [];
const errors = [];
const calls = Array.from({ length: config.calls }, () =>
  bucket.getToken().then(
    () => grants.push(now()),
    (error) => errors.push(String(error)),
  ),
);
await bucket.idle();
process.stdout.write(`ready ${bucket.pending}\n`);
await Promise.all(calls);
if (config.exit === true) {
  // The bucket stays open and idle: nothing of it may keep the process alive.
  process.stdout.write('done\n');
  await client.quit();
} else {
  bucket.close();
  await bucket.idle();
  await (kind === 'node-redis' && config.seeds !== undefined ? client.close() : client.quit());
  process.stdout.write(`${JSON.stringify({ grants, errors })}\n`);
}
