// An API client that awaits a token before each request, so it never exceeds the provider's limit of
// 5 requests per 500 ms. The provider counts requests when they *arrive*, and arrival times jitter (the
// first requests also pay for opening connections), so the client runs a little below the limit:
// 5 requests per 600 ms. The "provider" is a local HTTP server on 127.0.0.1 that answers 429 whenever a
// client goes over that limit; with the bucket in front, none of our requests is refused.
//
// Run it: npm run build && node examples/api-client.mjs
import { createServer } from 'node:http';
import { TokenBucketFilterFactory } from 'token-bucket-filter';

// --- the provider: at most 5 requests in any 500 ms window, else 429 ------------------------------
const WINDOW_MS = 500;
const LIMIT = 5;
const recent = [];
const server = createServer((request, response) => {
  const now = performance.now();
  while (recent.length > 0 && recent[0] <= now - WINDOW_MS) recent.shift();
  if (recent.length >= LIMIT) {
    response.writeHead(429, { 'retry-after': '1' }).end('slow down');
    return;
  }
  recent.push(now);
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true }));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

// --- the client: a bucket of 5 tokens, refilled by 5 every 600 ms -------------------------------
const bucket = TokenBucketFilterFactory.create({ capacity: 5, refillTokens: 5, refillInterval: 600 });

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
// 5 go at once, 5 at 600 ms, 2 at 1200 ms.
console.log(`12 requests took ${elapsed >= 1200 ? 'at least' : 'less than'} 1200 ms`);

bucket.close();
server.close();
