import { SCRIPT_DECISION } from './scriptDecision.js';
import { SCRIPT_HEAD } from './scriptHead.js';
import { SCRIPT_OPERATIONS } from './scriptOperations.js';
import { SCRIPT_STATE } from './scriptState.js';

/**
 * The one Lua script behind every decision of the Redis store: a declared port of the core's decision
 * (`src/core/decide.ts`, on the state of `src/core/limits.ts` and the arithmetic of `src/core/refill.ts`),
 * function by function, with the same names and the same operations on the same doubles. It runs
 * atomically in Redis on one key, and replies with integers, numbers written as strings and (first) the
 * stored configuration (or, for takes on the lean path with Redis time, with those numbers in one
 * string), never with an error reply for control flow, so Redis 7's `ERR ` prefix changes nothing.
 *
 * | core (TypeScript)                          | script (Lua)                       |
 * |--------------------------------------------|------------------------------------|
 * | `refill.ts` `stepTime`, `stepsAt`, `refill`, `stepsUntil` | `stepTime`, `stepsAt`, `refill`, `stepsUntil` (limit `i`) |
 * | `LimitState.advance`, `grantTime`, `take`, `grantNext` (`SingleLimit` with one limit, `MultiLimit` with several) | `advance`, `grantTime`, `take`, `grantNext` |
 * | `decide.ts` `decide(tail, now, count, maxWait)` | `decide(count, maxWait)` (also returns whether it refused) |
 * | `peekAvailable`, `peekWait`                | op 0, written out where it runs     |
 * | `replay(from, now, counts, instants)`      | `replay` (op 2; op 3 reconfigures between the restore and the replay) |
 * | `pauseUntil(state, until)` (`LimitState.pauseUntil`, `resumeAt` in `grantTime`) | `placePaused` and the gate in `grantTime` (op 5) |
 * | the same with one limit (`SingleLimit`)    | the lean path (takes on a one-limit key that holds the configuration sent): the functions above written out inline, in the same order |
 *
 * The lean path is the hot case, every take on an existing key of one limit whose configuration is the
 * one sent: one `GET`, one `SET … PX` and Redis `TIME`, no function defined, no number read from text
 * but those of the arguments (the common small ones, `'1'`, `'0'` and `''`, recognised as text), and
 * with Redis time one string replied (a table reply costs Redis a lookup of its special fields and a
 * conversion per value).
 * The general path runs everything else. The table of exact instants (`test/redis.decisionTable.test.ts`)
 * runs through both.
 *
 * The key is one string holding the configuration with the state, so that one key never enforces two
 * configurations: `struct.pack('<Hdd', n, origin, generation)`, then for each limit
 * `struct.pack('<ddddd', capacity, refillTokens, interval, tokens, step)` (doubles: they round-trip
 * exactly), then, while a pause may be in force (256 added to n in the header), `struct.pack('<d',
 * resumeAt)`, the pause's end (ms), then the configuration's text (`stamp|capacity:refillTokens:refillInterval` per limit,
 * joined by `,`, as the client formats it). The origin is in ms; the generation is bumped by every
 * write that moves the tail. The stored state is the bucket's *tail* (where the limits stand once every
 * reservation made so far is granted), exactly the core's tail: it may lie in the future, and while it
 * does nobody may take tokens at once. Step k of a limit happens at `origin + k × interval` (ms); the
 * steps at an instant are counted with the core's floor-and-correct; token counts are integers, capped
 * at capacity. Redis' Lua numbers are IEEE doubles, so every instant and count equals the core's
 * (fractional intervals included), provided the numbers travel exactly: JavaScript's `String(x)` and
 * Lua's `%.17g` both round-trip, and whole numbers travel as integers. FIFO is strict, in order of
 * arrival at Redis, and within one call in the order of its takes.
 *
 * The stored configuration wins: a call that sends another one (a process created with other options)
 * is decided on the stored one, and the reply's first value is then that configuration (0 when it is
 * the one sent). Only op 3 (reconfigure) replaces it; a missing key takes the one sent.
 *
 * KEYS[1]: the bucket's key.
 * ARGV: op (0 peek, 1 take, 2 replay, 3 reconfigure, 4 re-assert, 5 pause or check, 6 return), config (its text), now (ms; empty: Redis TIME),
 *   what a missing key holds ('': every limit full, its schedule starting now; else
 *   `origin|tokens,tokens,…`, one count per limit, an empty origin meaning now), then:
 * - peek: count. Reply {cfg, status (0, or 4: count above capacity), available, wait ms}.
 * - take: one or more runs of takes, decided in order: (times, count, maxWait) each with Redis time,
 *   (times, count, maxWait, now) each with client time, when `now` above is the first take's; a run is
 *   `times` takes of the same count, maxWait and now. maxWait in ms; empty: unlimited; 0: only a grant
 *   now. Reply {cfg, origin ms, generation before the first take, take...} (on the lean path with
 *   Redis time, where cfg is 0: the values after cfg in one string, separated by single spaces, the
 *   origin, waits and instants written with `%.17g`, the others with `%d`), where a
 *   take is the 3 + 2n values {status, wait ms, grantAt ms, then tokens and step of each limit before
 *   it}: status 1 granted now, 3 reserved until grantAt (wait after now), 2 refused because the wait
 *   exceeds maxWait (nothing taken), 4 refused because count exceeds the capacity. Each take of status
 *   1 or 3 bumps the generation by one: the generation after a take is the one before the first, plus
 *   the takes of status 1 or 3 up to it.
 * - replay: the origin and generation the tail must still have (the last reservation's, or nothing is
 *   written: reply {cfg, 0}), m (limits of the state to restore: must equal the stored ones), the tokens
 *   and step of each (where the tail stood before the first reservation given back), then pairs of
 *   (count, maxWait) still wanted, in order, decided at now. Reply {cfg, 1, origin, generation after
 *   the restore, take... for each pair}.
 * - return: reservations below another's, given back without moving anyone: the origin the tail
 *   must have, m (the number of limits: it must be the stored one), then for each reservation its
 *   count, its generation (right after it) and the tokens and step of each limit before it. Each is
 *   given back when it was made in the tail's epoch (generation / 2^20, rounded down: no return
 *   and no pause since, so the state before it is still the tail's history) and, for every limit, its tokens before
 *   plus a refill at every step from its step before to the tail's stay within the capacity: the cap
 *   then never bound since, with the reservation or without it, so the tail without it holds exactly
 *   its count more. The tail's tokens grow by their counts, its steps stay (nobody's instant moves),
 *   and the generation starts the next epoch (so the same return sent again writes nothing). Nothing
 *   is written when the origin or m differs, or past 2^52 generations. Reply {cfg, tokens given back,
 *   the generation before, the generation now}.
 * - reconfigure: the config sent is the new one (the tokens-if-missing too); then the same arguments as
 *   replay (generation empty: give nothing back). The old limits are brought to now; when the tail lies
 *   in the future (reservations outstanding), the new limits start at the tail's instant, so that no
 *   reservation made under the old limits is granted twice; limit i carries the tokens of old limit i,
 *   capped at its new capacity (a new limit starts full); the new schedule starts now. Reply {0, 1 if
 *   the chain was given back and its pairs replayed on the new limits else 0, origin, generation,
 *   take... for each pair replayed}.
 * - re-assert: the origin and the configuration's stamp of the key this process's reservations were
 *   made in, then their counts, in order. When the key is missing, or holds another origin under the
 *   same stamp (it was created anew: Redis lost the old one), each count is decided as a take without
 *   maxWait at now and the key is written; otherwise nothing is written. Reply {cfg, 1 if it took them
 *   else 0, origin, generation before the first take, take... for each count (when 1)}.
 * - pause: the same arguments as replay (the run to give back, or nothing), then ms (the pause's
 *   length, from now; empty: a check before granting), the generation to check (a check: that of the
 *   earliest reservation due), then pairs (count, maxWait) of every caller of the process still
 *   sleeping. A pause ending before the one in force, or a check that finds no pause since that
 *   generation (the key holds it and is less than 2^32 above it), replies {cfg, 2} and writes nothing.
 *   Otherwise a pause gives back the run if it is the last, pauses (`placePaused`: the core's
 *   `pauseUntil` on the tail, whose other reservations keep their tokens) and adds 2^32 to the
 *   generation, so that every reservation made before it is known to be voided, and PUBLISHes (plain
 *   pub/sub) on the channel `KEYS[1]:pause` the key's origin and its generation right after the pause,
 *   `%.17g %.17g` (see `PauseNotices`); a check gives back
 *   the run when only pauses wrote since its top and puts the pause in force on what it restored.
 *   Both then re-decide the pairs: reply {cfg, 1, origin, generation, take... for each pair}.
 * A missing key is a new bucket holding the tokens-if-missing, its schedule starting now (with Redis
 * time, at its whole ms, so that its instants stay whole numbers) or at `origin`; one created less
 * than full is written at its first use, even a read. A key holding a hash (the formats before this
 * one) is read as missing and replaced; a key of another type is an error (`WRONGTYPE`). Every write
 * sets the key to expire when the bucket would be full again (rounded up to whole ms, plus 1 s with
 * client time, whose clock may run slower than Redis', and at most 2^44 ms), so an idle key disappears
 * by itself.
 */
export const BUCKET_SCRIPT = SCRIPT_HEAD + SCRIPT_STATE + SCRIPT_DECISION + SCRIPT_OPERATIONS;

/**
 * The SHA1 of {@link BUCKET_SCRIPT}, as `EVALSHA` expects it (40 lowercase hex digits). Written out
 * rather than computed so the store needs no crypto module; a test checks it against the script.
 */
export const BUCKET_SCRIPT_SHA = 'c4f21530954b86d4e1a5dba214b797bb52d2f810';
