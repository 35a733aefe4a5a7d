// One process of test/redis.pause.multiprocess.test.ts: sleeps on reservations of a shared Redis bucket
// while another process pauses it. Input: one JSON argument. Output: a line `ready` once its calls are
// reserved (every Redis call answered), then one JSON line with the epoch ms of each grant.
import { pathToFileURL } from 'node:url';

const config = JSON.parse(process.argv[2]);
const { RedisTokenBucketFilter } = await import(pathToFileURL(config.entry).href);
const { Redis } = await import('ioredis');
const now = () => performance.timeOrigin + performance.now();

const client = new Redis(config.url, { enableOfflineQueue: false, lazyConnect: true });
await client.connect();
const bucket = new RedisTokenBucketFilter({
  client,
  key: config.key,
  prefix: config.prefix,
  capacity: config.capacity,
  refillTokens: 1,
  refillInterval: config.refillInterval,
  pausable: config.pausable,
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
bucket.close();
await bucket.idle();
await client.quit();
process.stdout.write(`${JSON.stringify({ grants, errors })}\n`);
