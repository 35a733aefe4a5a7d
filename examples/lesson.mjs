// The lesson's scenario in real time: a bucket of capacity 1 refilled with one token per second, and
// ten callers that each await a token. They are granted one at a time, in order, one second apart.
//
// Run it with `npm run demo` (which builds the package first).
import { TokenBucketFilterFactory } from 'token-bucket-filter';

// Seconds since just before the bucket was created (its schedule starts at its creation).
const started = performance.now();
const seconds = () => ((performance.now() - started) / 1000).toFixed(3).padStart(6);

const bucket = TokenBucketFilterFactory.create({
  capacity: 1, // at most one token in the bucket
  refillTokens: 1, // one token added...
  refillInterval: 1000, // ...every 1000 ms, by the refill "daemon"
  initialTokens: 0, // start empty, so the first caller waits one second too
  kind: 'timer', // a refill setInterval, started by the factory after construction
});

console.log(`${seconds()}s  10 callers wait for a token (capacity 1, 1 token per second)`);
await Promise.all(
  Array.from({ length: 10 }, async (_, caller) => {
    await bucket.getToken();
    console.log(`${seconds()}s  caller ${caller + 1} granted`);
  }),
);
bucket.close(); // the refill timer is unref'd while nobody waits; close() stops it for good
