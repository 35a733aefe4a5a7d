// A Fastify 5 onRequest hook that limits each client (by its x-api-key header, else its address) to
// bursts of 3 requests, then 1 per second, with the IETF RateLimit-Policy and RateLimit header fields
// on every response and Retry-After on a 429. The server listens on 127.0.0.1 only, sends itself four
// requests as alice and one as bob, prints what came back, and exits.
//
// Run it: npm run build && node examples/fastify-hook.mjs   (fastify is a devDependency)
import Fastify from 'fastify';
import { KeyedTokenBucketFilter, rateLimitHeaders, rateLimitPolicy } from 'token-bucket-filter';

/** Registers an onRequest hook on `app`: one bucket of `limit` per client, closed with the app. */
export function rateLimit(
  app,
  { limit, name = 'per-client', keyOf = (request) => request.headers['x-api-key'] ?? request.ip },
) {
  const perClient = new KeyedTokenBucketFilter({ ...limit, maxKeys: 100_000 });
  const policy = rateLimitPolicy(name, limit);
  app.addHook('onRequest', async (request, reply) => {
    const key = keyOf(request);
    const allowed = perClient.tryGetToken(key);
    reply.headers(rateLimitHeaders(policy, perClient, { key, retryAfter: !allowed }));
    if (!allowed) return reply.code(429).send('Too Many Requests');
  });
  app.addHook('onClose', async () => perClient.close());
}

const app = Fastify();
rateLimit(app, { limit: { capacity: 3, refillTokens: 1, refillInterval: 1000 } });
app.get('/', async () => 'ok');

await app.listen({ port: 0, host: '127.0.0.1' });
await tryIt(`http://127.0.0.1:${app.server.address().port}/`);
await app.close();

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
