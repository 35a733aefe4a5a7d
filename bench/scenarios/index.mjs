/**
 * The benchmark's scenarios, in the order they run. To add one, write a module in this folder that
 * default-exports a scenario (see bench/README.md, "Adding a scenario") and list it here.
 */
import backlog from './backlog.mjs';
import getHit from './get-hit.mjs';
import idleWaiters from './idle-waiters.mjs';
import queueDrain from './queue-drain.mjs';
import timing from './timing.mjs';
import tryHit from './try-hit.mjs';
import tryMiss from './try-miss.mjs';

export const scenarios = [tryHit, tryMiss, getHit, queueDrain, backlog, timing, idleWaiters];
