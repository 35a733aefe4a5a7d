// Express 5 middleware that limits each client (by its x-api-key header, else its address) to bursts
// of 3 requests, then 1 per second, with the IETF RateLimit-Policy and RateLimit header fields on every
// response and Retry-After on a 429. The server listens on 127.0.0.1 only, sends itself four requests
// as alice and one as bob, prints what came back, and exits.
//
// Run it: npm run build && node examples/express-middleware.mjs   (express is a devDependency)
import express from 'express';
import { KeyedTokenBucketFilter, rateLimitHeaders, rateLimitPolicy } from 'token-bucket-filter';

/** Express middleware: one bucket of `limit` per client; `close()` releases them. */
export function rateLimit({ limit, name = 'per-client', keyOf = (req) => req.get('x-api-key') ?? req.ip }) {
  const perClient = new KeyedTokenBucketFilter({ ...limit, maxKeys: 100_000 });
  const policy = rateLimitPolicy(name, limit);
  const middleware = (req, res, next) => {
    const key = keyOf(req);
    const allowed = perClient.tryGetToken(key);
    res.set(rateLimitHeaders(policy, perClient, { key, retryAfter: !allowed }));
    if (!allowed) {
      res.status(429).send('Too Many Requests');
      return;
    }
    next();
  };
  middleware.close = () => perClient.close();
  return middleware;
}

const limiter = rateLimit({ limit: { capacity: 3, refillTokens: 1, refillInterval: 1000 } });
const app = express();
app.use(limiter);
app.get('/', (req, res) => {
  res.send('ok');
});

const server = app.listen(0, '127.0.0.1', async () => {
  await tryIt(`http://127.0.0.1:${server.address().port}/`);
  server.close();
  limiter.close();
});

/** Sends four requests as alice and one as bob to `url`, and prints what came back. */
async function tryIt(url) {
  let policy;
  for (const client of ['alice', 'alice', 'alice', 'alice', 'bob']) {
    const reply = await fetch(url, { headers: { 'x-api-key': client } });
    const body = (await reply.text()).trim();
    policy ??= reply.headers.get('ratelimit-policy');
    console.log(client, reply.status, body, reply.headers.get('ratelimit'), reply.headers.get('retry-after') ?? '');
  }
  console.log('RateLimit-Policy:', policy);
  // alice 200 ok "per-client";r=2;t=1
  // alice 200 ok "per-client";r=1;t=2
  // alice 200 ok "per-client";r=0;t=3
  // alice 429 Too Many Requests "per-client";r=0;t=3 1
  // bob 200 ok "per-client";r=2;t=1
  // RateLimit-Policy: "per-client";q=3;w=3
}
