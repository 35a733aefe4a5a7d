// The user's code under test, as an ES module: a client whose every request first awaits a token.

/** The provider's limit, as in the lesson: one request a second, bursts of one. */
export const LIMIT = { capacity: 1, refillTokens: 1, refillInterval: 1000 };

/** createClient returns a client that awaits a token from `bucket` before each `transport(request)`. */
export function createClient(bucket, transport) {
  return {
    async request(request) {
      await bucket.getToken();
      return transport(request);
    },
  };
}
