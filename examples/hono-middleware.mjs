// Hono middleware, served by @hono/node-server, that limits each client (by its x-api-key header, else
// its address) to bursts of 3 requests, then 1 per second, with the IETF RateLimit-Policy and RateLimit
// header fields on every response and Retry-After on a 429. The server listens on 127.0.0.1 only,
// sends itself four requests as alice and one as bob, prints what came back, and exits.
//
// Run it: npm run build && node examples/hono-middleware.mjs   (hono and @hono/node-server are devDependencies)
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import { KeyedTokenBucketFilter, rateLimitHeaders, rateLimitPolicy } from 'token-bucket-filter';

/** Hono middleware: one bucket of `limit` per client; `close()` releases them. */
export function rateLimit({
  limit,
  name = 'per-client',
  keyOf = (c) => c.req.header('x-api-key') ?? getConnInfo(c).remote.address,
}) {
  const perClient = new KeyedTokenBucketFilter({ ...limit, maxKeys: 100_000 });
  const policy = rateLimitPolicy(name, limit);
  const middleware = async (c, next) => {
    const key = keyOf(c);
    const allowed = perClient.tryGetToken(key);
    for (const [header, value] of Object.entries(rateLimitHeaders(policy, perClient, { key, retryAfter: !allowed }))) {
      c.header(header, value);
    }
    if (!allowed) return c.text('Too Many Requests', 429);
    await next();
  };
  middleware.close = () => perClient.close();
  return middleware;
}

const limiter = rateLimit({ limit: { capacity: 3, refillTokens: 1, refillInterval: 1000 } });
const app = new Hono();
app.use(limiter);
app.get('/', (c) => c.text('ok'));

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, async (info) => {
  await tryIt(`http://127.0.0.1:${info.port}/`);
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
