/**
 * The one Lua script behind every decision of the Redis store. It runs atomically in Redis, reads and
 * writes one key (a hash: `o` = origin, `t` = tokens, `s` = step) and replies with integers only: no
 * error replies are used for control flow, so Redis 7's `ERR ` prefix changes nothing.
 *
 * The stored state is the bucket's *tail*: where the refill schedule stands once every reservation made
 * so far has been granted. `s` may lie in the future; while it does, callers are queued (reservations
 * are outstanding) and nobody may take tokens at once. This is exactly the core's tail projection, so
 * the grants are those of the in-process buckets: steps of `refillTokens` every `intervalUs` µs from
 * origin `o`, integer tokens, capped at capacity, strict FIFO in order of arrival at Redis.
 *
 * KEYS[1]: the bucket's key.
 * ARGV: op (0 peek, 1 take, 2 cancel), capacity, refillTokens, intervalUs, initialTokens (what a
 *       missing key holds: the client passes capacity once the key has existed), nowUs (-1: Redis
 *       TIME), originUs (-1: now; used only when the key is missing), count, maxWaitUs (-1: unlimited;
 *       0: only a grant now, as tryGetToken), and for cancel: postTokens, postStep, preTokens, preStep.
 * Replies (all integers):
 * - peek:   {0, availableNow, waitUs for count}
 * - take:   {status, waitUs, preTokens, preStep, postTokens, postStep, nowUs}: status 1 granted now,
 *           3 reserved (granted at now + waitUs), 2 refused because waitUs > maxWaitUs (nothing taken)
 * - cancel: {1} restored, {0} not the last reservation (nothing written)
 * A missing key is a new bucket holding the initialTokens argument, its schedule starting now (or at
 * `originUs`); one created less than full is written at its first use, even a read. Every write sets
 * the key to expire when the bucket would be full again (rounded up to whole ms, plus 1 s with client
 * time, whose clock may run slower than Redis'), so an idle key disappears by itself.
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
if now < 0 then
  slack = 0
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000000 + tonumber(time[2])
end

-- Exact ceil(a / b) and floor(a / b) for non-negative integers below 2^53.
local function floordiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end
local function ceildiv(a, b)
  local q = floordiv(a, b)
  if q * b < a then q = q + 1 end
  return q
end

local state = redis.call('HMGET', key, 'o', 't', 's')
local origin, tokens, step
if state[1] then
  origin = tonumber(state[1]); tokens = tonumber(state[2]); step = tonumber(state[3])
else
  origin = tonumber(ARGV[7]); if origin < 0 then origin = now end
  tokens = initial; step = 0
end

local function stepsUntil(held, count)
  if count <= held then return 0 end
  return ceildiv(count - held, refill)
end
local function refilled(held, steps)
  if steps <= 0 then return held end
  if steps >= ceildiv(capacity - held, refill) then return capacity end
  return held + steps * refill
end
-- Lua would format large numbers in exponent notation: write integers digit by digit.
local function str(n) return string.format('%.0f', n) end
local function save()
  redis.call('HSET', key, 'o', str(origin), 't', str(tokens), 's', str(step))
  local fullAt = origin + (step + stepsUntil(tokens, capacity)) * interval
  local ttl = math.ceil((fullAt - now) / 1000) + slack
  if ttl < 1 then ttl = 1 end
  redis.call('PEXPIRE', key, str(ttl))
end

if op == 2 then
  if state[1] and tokens == tonumber(ARGV[10]) and step == tonumber(ARGV[11]) then
    tokens = tonumber(ARGV[12]); step = tonumber(ARGV[13])
    save()
    return {1}
  end
  return {0}
end

-- Bring the tail up to now: if it lies in the past every reservation has been granted, and the steps
-- since add their tokens. A tail in the future stays where it is (callers are queued).
local current = 0
if now > origin then current = floordiv(now - origin, interval) end
if current < step then current = step end
if step < current then
  tokens = refilled(tokens, current - step); step = current
end
local count = tonumber(ARGV[8])
local wait = stepsUntil(tokens, count)
local grantStep = step + wait
local waitUs = origin + grantStep * interval - now
if waitUs < 0 then waitUs = 0 end

-- Callers are queued while the tail lies in the future.
local queued = origin + step * interval > now
-- A bucket created less than full must start its schedule at its first use, even a read or a refusal:
-- otherwise every read would find it missing and fresh again, and it would never fill.
local fresh = (not state[1]) and initial < capacity
if op == 0 then
  if fresh then save() end
  local available = tokens
  if queued then available = 0 end
  return {0, available, waitUs}
end

local preTokens, preStep = tokens, step
if not queued and wait == 0 then
  tokens = tokens - count
  save()
  return {1, 0, preTokens, preStep, tokens, step, now}
end
local maxWait = tonumber(ARGV[9])
if maxWait >= 0 and waitUs > maxWait then
  if fresh then save() end
  return {2, waitUs, preTokens, preStep, tokens, step, now}
end
tokens = refilled(tokens, wait) - count
step = grantStep
save()
return {3, waitUs, preTokens, preStep, tokens, step, now}
`;

/**
 * The SHA1 of {@link BUCKET_SCRIPT}, as `EVALSHA` expects it (40 lowercase hex digits). Written out
 * rather than computed so the store needs no crypto module; a test checks it against the script.
 */
export const BUCKET_SCRIPT_SHA = '7a0695d14dc3f8999ae901713a8a25e831bd49f8';

/** Script operations, the first ARGV. */
export const OP_PEEK = 0;
export const OP_TAKE = 1;
export const OP_CANCEL = 2;

/** Statuses of a take. */
export const TAKE_GRANTED = 1;
export const TAKE_TOO_LATE = 2;
export const TAKE_RESERVED = 3;
