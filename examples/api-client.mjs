// An API client that awaits a token before each request, so it never exceeds the provider's published
// limit of 5 requests per 500 ms (in bursts of up to 5). The "provider" is a local HTTP server on
// 127.0.0.1 that enforces that limit with a token bucket of its own and answers 429 to any request
// over it; with the same bucket in front of the client, none of our requests is refused.
//
// Run it: npm run build && node examples/api-client.mjs
import { createServer } from 'node:http';
import { LazyTokenBucketFilter, TokenBucketFilterFactory } from 'token-bucket-filter';

const LIMIT = { capacity: 5, refillTokens: 5, refillInterval: 500 };

// --- the provider: 5 requests per 500 ms, else 429 -------------------------------------------------
const providerBucket = new LazyTokenBucketFilter(LIMIT);
const server = createServer((request, response) => {
  if (!providerBucket.tryGetToken()) {
    response.writeHead(429, { 'retry-after': '1' }).end('slow down');
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

// --- the client: the provider's limit, as a bucket it awaits before each request -----------------
// Requests reach the provider after the client sent them, never before, and the client's schedule
// starts after the provider's: so each token the client is granted exists at the provider too.
const bucket = TokenBucketFilterFactory.create(LIMIT);

async function callApi(path) {
  await bucket.getToken(); // wait our turn, in order, before touching the network
  const response = await fetch(`${base}${path}`);
  return response.status;
}

const started = performance.now();
const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => callApi(`/items/${i}`)));
const elapsed = performance.now() - started;

console.log(`statuses: ${statuses.join(' ')}`);
console.log(`refused: ${statuses.filter((status) => status === 429).length}`);
// 5 go at once, 5 at 500 ms, 2 at 1000 ms.
console.log(`12 requests took ${elapsed >= 1000 ? 'at least' : 'less than'} 1000 ms`);

bucket.close();
providerBucket.close();
server.close();
