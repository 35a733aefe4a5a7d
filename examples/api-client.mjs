// An API client that awaits a token before each request, so it never exceeds the provider's published
// limit of 5 requests per 500 ms (in bursts of up to 5). The "provider" is a local HTTP server on
// 127.0.0.1 that enforces that limit with a token bucket of its own and answers 429, with a
// `Retry-After`, to any request over it; with the same bucket in front of the client, none of our
// requests is refused. Then another client of the same account spends the quota behind our back: our
// requests get 429, and the client pauses its bucket for the `Retry-After` the provider sent.
//
// Run it: npm run build && node examples/api-client.mjs
import { createServer } from 'node:http';
import { LazyTokenBucketFilter, TokenBucketFilterFactory } from 'token-bucket-filter';

const LIMIT = { capacity: 5, refillTokens: 5, refillInterval: 500 };

// --- the provider: 5 requests per 500 ms, else 429 -------------------------------------------------
const providerBucket = new LazyTokenBucketFilter(LIMIT);
const server = createServer((request, response) => {
  if (!providerBucket.tryGetToken()) {
    // Whole seconds, rounded up, until the provider's next token.
    const retryAfter = Math.max(1, Math.ceil(providerBucket.waitTime() / 1000));
    response.writeHead(429, { 'retry-after': String(retryAfter) }).end('slow down');
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

// --- backing off: a 429 with Retry-After pauses the whole client -----------------------------------
// pause(ms) grants nothing for ms, to any caller; queued callers keep their order. When it ends the
// bucket holds at most one refill (here 5), so the client resumes at its steady rate, with no burst.
async function callWithBackoff(path) {
  for (;;) {
    await bucket.getToken();
    const response = await fetch(`${base}${path}`);
    if (response.status !== 429) return { status: response.status, at: performance.now() };
    const retryAfterMs = Number(response.headers.get('retry-after')) * 1000;
    refusals.push({ at: performance.now(), retryAfterMs });
    bucket.pause(retryAfterMs); // a second pause extends the first, never shortens it
  }
}

const refusals = [];
await new Promise((resolve) => setTimeout(resolve, 1000)); // both buckets full again
// Another client of the account spends the whole quota, just after one of the provider's steps (so
// that no new token reaches the provider while our requests are on their way).
while (providerBucket.tryGetToken());
await new Promise((resolve) => setTimeout(resolve, providerBucket.waitTime() + 5));
while (providerBucket.tryGetToken());
const results = await Promise.all(Array.from({ length: 5 }, (_, i) => callWithBackoff(`/retry/${i}`)));
const lastRefusal = Math.max(...refusals.map((refusal) => refusal.at));
const pausedFor = Math.min(...results.map((result) => result.at)) - lastRefusal;

console.log(`backoff: ${refusals.length} refused with Retry-After ${refusals[0]?.retryAfterMs / 1000} s`);
console.log(`after the pause: ${results.map((result) => result.status).join(' ')}`);
console.log(`nothing was sent for ${pausedFor >= 1000 ? 'at least' : 'less than'} 1000 ms after the last 429`);

bucket.close();
providerBucket.close();
server.close();
