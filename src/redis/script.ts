/**
 * The one Lua script behind every decision of the Redis store. It runs atomically in Redis, reads and
 * writes one key (a hash: `o` = origin, `t` = tokens, `s` = step) and replies with integers and numbers
 * written as strings, never with an error reply for control flow, so Redis 7's `ERR ` prefix changes
 * nothing.
 *
 * The stored state is the bucket's *tail*: where the refill schedule stands once every reservation made
 * so far has been granted. `s` may lie in the future; while it does, callers are queued (reservations
 * are outstanding) and nobody may take tokens at once. This is exactly the core's tail projection, and
 * the arithmetic is the core's (`src/core/refill.ts`), operation for operation, on the same doubles:
 * step k happens at `origin + k × interval` (ms), the steps at an instant are counted with the same
 * floor-and-correct, and token counts are integers, capped at capacity. Redis' Lua numbers are IEEE
 * doubles, so every instant and count equals the in-process buckets' (fractional intervals included),
 * provided the numbers travel exactly: JavaScript's `String(x)` and Lua's `%.17g` both round-trip.
 * FIFO is strict, in order of arrival at Redis.
 *
 * KEYS[1]: the bucket's key.
 * ARGV: op (0 peek, 1 take, 2 withdraw), capacity, refillTokens, interval (ms), initialTokens (what a
 *       missing key holds: the client passes capacity once the key has existed), now (ms; empty: Redis
 *       TIME), origin (ms; empty: now; used only when the key is missing), count, maxWait (ms; empty:
 *       unlimited; 0: only a grant now, as tryGetToken), and for withdraw: expectedTokens, expectedStep,
 *       restoreTokens, restoreStep, then the count of each reservation to make again, in order.
 * Replies (integers, and numbers of ms as strings, marked ms below):
 * - peek:     {0, availableNow, wait ms for count}
 * - take:     {status, wait ms, preTokens, preStep, postTokens, postStep, grantAt ms}: status 1 granted
 *             now, 3 reserved (granted at grantAt, `wait` after now), 2 refused because the wait exceeds
 *             maxWait (nothing taken)
 * - withdraw: {0} when the tail is not at (expectedTokens, expectedStep) (someone reserved since:
 *             nothing written); otherwise {1, then for each count the 7 values of its take}: the tail
 *             is put back at (restoreTokens, restoreStep) and each count is taken again as it arrives
 *             now, in order, with no maxWait (it can only be granted earlier than before). With no
 *             count this gives a reservation back, if it is still the last one.
 * A missing key is a new bucket holding the initialTokens argument, its schedule starting now (or at
 * `origin`); one created less than full is written at its first use, even a read. Every write sets
 * the key to expire when the bucket would be full again (rounded up to whole ms, plus 1 s with client
 * time, whose clock may run slower than Redis', and at most 2^44 ms), so an idle key disappears by
 * itself.
 */
export const BUCKET_SCRIPT = `
local key = KEYS[1]
local op = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local refill = tonumber(ARGV[3])
local interval = tonumber(ARGV[4])
local initial = tonumber(ARGV[5])
local now = tonumber(ARGV[6])
-- A client clock may run slower than Redis' own: keep its keys a second longer.
local slack = 1000
if now == nil then
  slack = 0
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
end

local state = redis.call('HMGET', key, 'o', 't', 's')
local origin, tokens, step
if state[1] then
  origin = tonumber(state[1]); tokens = tonumber(state[2]); step = tonumber(state[3])
else
  origin = tonumber(ARGV[7]) or now
  tokens = initial; step = 0
end

-- The core's refill arithmetic (src/core/refill.ts), operation for operation.
local function stepTime(k) return origin + k * interval end
local function stepsAt(t)
  local elapsed = t - origin
  if not (elapsed > 0) then return 0 end
  local k = math.floor(elapsed / interval)
  if stepTime(k) > t then k = k - 1 elseif stepTime(k + 1) <= t then k = k + 1 end
  return k
end
local function stepsUntil(held, count)
  if count <= held then return 0 end
  return math.ceil((count - held) / refill)
end
local function refilled(held, steps)
  if steps <= 0 then return held end
  if steps >= math.ceil((capacity - held) / refill) then return capacity end
  return held + steps * refill
end
-- Integers digit by digit (Lua would use exponent notation), other numbers so that they round-trip.
local function int(n) return string.format('%.0f', n) end
local function num(n) return string.format('%.17g', n) end
local function save()
  redis.call('HSET', key, 'o', num(origin), 't', int(tokens), 's', int(step))
  local ttl = math.ceil(stepTime(step + stepsUntil(tokens, capacity)) - now) + slack
  if ttl < 1 then ttl = 1 elseif ttl > 17592186044416 then ttl = 17592186044416 end
  redis.call('PEXPIRE', key, int(ttl))
end

-- Brings the tail up to now: if it lies in the past every reservation has been granted, and the steps
-- since add their tokens. A tail in the future stays where it is (callers are queued).
local function advance()
  local current = stepsAt(now)
  if current > step then
    tokens = refilled(tokens, current - step); step = current
  end
end

-- Takes count for a caller arriving now, behind every reservation; maxWait nil: no limit. Appends the
-- 7 values of a take reply to reply, and returns the status.
local function take(count, maxWait, reply)
  advance()
  local preTokens, preStep = tokens, step
  local wait = stepsUntil(tokens, count)
  local grantAt = stepTime(step + wait)
  local status
  if wait == 0 and stepTime(step) <= now then
    status = 1
    tokens = tokens - count
  elseif maxWait and grantAt - now > maxWait then
    status = 2
  else
    status = 3
    tokens = refilled(tokens, wait) - count
    step = step + wait
  end
  local waitMs = grantAt - now
  if status == 1 or waitMs < 0 then waitMs = 0 end
  local n = #reply
  reply[n + 1] = status; reply[n + 2] = num(waitMs); reply[n + 3] = preTokens; reply[n + 4] = preStep
  reply[n + 5] = tokens; reply[n + 6] = step; reply[n + 7] = num(grantAt)
  return status
end

if op == 2 then
  if not (state[1] and tokens == tonumber(ARGV[10]) and step == tonumber(ARGV[11])) then return {0} end
  tokens = tonumber(ARGV[12]); step = tonumber(ARGV[13])
  local reply = {1}
  for i = 14, #ARGV do take(tonumber(ARGV[i]), nil, reply) end
  save()
  return reply
end

-- A bucket created less than full must start its schedule at its first use, even a read or a refusal:
-- otherwise every read would find it missing and fresh again, and it would never fill.
local fresh = (not state[1]) and initial < capacity
local count = tonumber(ARGV[8])
if op == 0 then
  advance()
  local wait = stepTime(step + stepsUntil(tokens, count)) - now
  if wait < 0 then wait = 0 end
  local available = tokens
  -- Callers are queued while the tail lies in the future.
  if stepTime(step) > now then available = 0 end
  if fresh then save() end
  return {0, available, num(wait)}
end

local reply = {}
if take(count, tonumber(ARGV[9]), reply) ~= 2 or fresh then save() end
return reply
`;

/**
 * The SHA1 of {@link BUCKET_SCRIPT}, as `EVALSHA` expects it (40 lowercase hex digits). Written out
 * rather than computed so the store needs no crypto module; a test checks it against the script.
 */
export const BUCKET_SCRIPT_SHA = '7818ec68ea9c5fca397a9d7f3dddfea90c0e0887';

/** Script operations, the first ARGV. */
export const OP_PEEK = 0;
export const OP_TAKE = 1;
export const OP_WITHDRAW = 2;

/** Statuses of a take. */
export const TAKE_GRANTED = 1;
export const TAKE_TOO_LATE = 2;
export const TAKE_RESERVED = 3;

/** The number of values a take replies with (and each re-made reservation of a withdraw). */
export const TAKE_REPLY_LENGTH = 7;
