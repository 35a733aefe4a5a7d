import { tryScenario } from '../lib/tryRate.mjs';

/** try-miss: the non-waiting call on an empty bucket. */
export default tryScenario({
  name: 'try-miss',
  title: 'try-miss: tryGetToken() on an empty bucket',
  description:
    'How many non-waiting calls per second an empty bucket refuses (capacity 1, one token an hour, ' +
    'starting empty). Higher is better.',
  spec: { capacity: 1, refillTokens: 1, refillInterval: 3_600_000, initialTokens: 0 },
});
