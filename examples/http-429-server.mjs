// An HTTP server on node:http that limits each client (by its x-api-key header, else its address) to
// bursts of 3 requests, then 1 per second, and answers 429 Too Many Requests with Retry-After and the
// IETF RateLimit header fields, all computed by rateLimitHeaders() from the bucket's exact waitTime().
// It listens on 127.0.0.1 only, sends itself four requests as one client, prints what came back, and
// exits.
//
// Run it: npm run build && node examples/http-429-server.mjs
import http from 'node:http';
import { KeyedTokenBucketFilter, rateLimitHeaders, rateLimitPolicy } from 'token-bucket-filter';

const limit = { capacity: 3, refillTokens: 1, refillInterval: 1000 };
const perClient = new KeyedTokenBucketFilter({ ...limit, maxKeys: 100_000 });
// RateLimit-Policy: "per-client";q=3;w=3 (the quota, and the seconds an empty bucket takes to refill).
const policy = rateLimitPolicy('per-client', limit);

const server = http.createServer((request, response) => {
  const client = request.headers['x-api-key'] ?? request.socket.remoteAddress;
  const allowed = perClient.tryGetToken(client);
  // RateLimit-Policy, RateLimit (what is left now) and, on a refusal, Retry-After: whole seconds,
  // rounded up, so that a client that obeys is never refused again for being early.
  const headers = rateLimitHeaders(policy, perClient, { key: client, retryAfter: !allowed });
  for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
  if (!allowed) {
    response.writeHead(429).end('Too Many Requests\n');
    return;
  }
  response.end('ok\n');
});

server.listen(0, '127.0.0.1', async () => {
  const url = `http://127.0.0.1:${server.address().port}/`;
  for (let i = 0; i < 4; i += 1) {
    const reply = await fetch(url, { headers: { 'x-api-key': 'alice' } });
    console.log(reply.status, reply.headers.get('ratelimit'), reply.headers.get('retry-after') ?? '');
  }
  // 200 "per-client";r=2;t=1
  // 200 "per-client";r=1;t=2
  // 200 "per-client";r=0;t=3
  // 429 "per-client";r=0;t=3 1
  server.close();
  perClient.close();
});
