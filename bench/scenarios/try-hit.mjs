import { tryScenario } from '../lib/tryRate.mjs';

/** try-hit: the non-waiting call on a bucket that always has tokens. */
export default tryScenario({
  name: 'try-hit',
  title: 'try-hit: tryGetToken() on a bucket that always has tokens',
  description:
    'How many non-waiting calls per second a bucket that always has tokens serves (capacity 10^9, refilled ' +
    'at 10^9 tokens/s, so it never runs dry). Higher is better.',
  spec: { capacity: 1e9, refillTokens: 1e9, refillInterval: 1000, initialTokens: 1e9 },
});
