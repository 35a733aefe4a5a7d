/**
 * The one Lua script behind every decision of the Redis store: a declared port of the core's decision
 * (`src/core/decide.ts`, on the state of `src/core/limits.ts` and the arithmetic of `src/core/refill.ts`),
 * function by function, with the same names and the same operations on the same doubles. It runs
 * atomically in Redis on one key, and replies with integers, numbers written as strings and (first) the
 * stored configuration, never with an error reply for control flow, so Redis 7's `ERR ` prefix changes
 * nothing.
 *
 * | core (TypeScript)                          | script (Lua)                       |
 * |--------------------------------------------|------------------------------------|
 * | `refill.ts` `stepTime`, `stepsAt`, `refill`, `stepsUntil` | `stepTime`, `stepsAt`, `refill`, `stepsUntil` (limit `i`) |
 * | `LimitState.advance`, `grantTime`, `take`, `grantNext` (`SingleLimit` with one limit, `MultiLimit` with several) | `advance`, `grantTime`, `take`, `grantNext` |
 * | `decide.ts` `decide(tail, now, count, maxWait)` | `decide(count, maxWait)` (also returns whether it refused) |
 * | `peekAvailable`, `peekWait`                | op 0, written out where it runs     |
 * | `replay(from, now, counts, instants)`      | `replay` (op 2; op 3 reconfigures between the restore and the replay) |
 *
 * The key is a hash holding the configuration with the state, so that one key never enforces two
 * configurations: `c` = the configuration (`capacity:refillTokens:refillInterval` per limit, joined by
 * `,`, as the client formats it), `o` = origin (ms), `g` = generation (bumped by every write that moves
 * the tail), and `t<i>`, `s<i>` = tokens and step of limit i. The stored state is the bucket's *tail*
 * (where the limits stand once every reservation made so far is granted), exactly the core's tail: it
 * may lie in the future, and while it does nobody may take tokens at once. Step k of a limit happens at
 * `origin + k × interval` (ms); the steps at an instant are counted with the core's floor-and-correct;
 * token counts are integers, capped at capacity. Redis' Lua numbers are IEEE doubles, so every instant
 * and count equals the core's (fractional intervals included), provided the numbers travel exactly:
 * JavaScript's `String(x)` and Lua's `%.17g` both round-trip. FIFO is strict, in order of arrival.
 *
 * The stored configuration wins: a call that sends another one (a process created with other options)
 * is decided on the stored one, and the reply's first value is then that configuration (0 when it is
 * the one sent). Only op 3 (reconfigure) replaces it; a missing key takes the one sent.
 *
 * KEYS[1]: the bucket's key.
 * ARGV: op (0 peek, 1 take, 2 replay, 3 reconfigure), config, n (limits of config), then capacity,
 *   refillTokens and interval (ms) of each limit, then now (ms; empty: Redis TIME), origin (ms, for a
 *   missing key; empty: now), the tokens each limit holds if the key is missing (n values), then:
 * - peek: count. Reply {cfg, status (0, or 4: count above capacity), available, wait ms}.
 * - take: count, maxWait (ms; empty: unlimited; 0: only a grant now). Reply {cfg, take...}, where a take
 *   is the 5 + 2n values {status, wait ms, grantAt ms, origin ms, generation, then tokens and step of
 *   each limit before it}: status 1 granted now, 3 reserved until grantAt (wait after now), 2 refused
 *   because the wait exceeds maxWait (nothing taken), 4 refused because count exceeds the capacity.
 * - replay: the origin and generation the tail must still have (the last reservation's, or nothing is
 *   written: reply {cfg, 0}), m (limits of the state to restore: must equal the stored ones), the tokens
 *   and step of each (where the tail stood before the first reservation given back), then pairs of
 *   (count, maxWait) still wanted, in order. Reply {cfg, 1, generation after the restore, take... for
 *   each pair}.
 * - reconfigure: the config and limits of the prefix are the new ones (the tokens-if-missing too); then
 *   the same arguments as replay (generation empty: give nothing back). The old limits are brought to
 *   now; when the tail lies in the future (reservations outstanding), the new limits start at the tail's
 *   instant, so that no reservation made under the old limits is granted twice; limit i carries the
 *   tokens of old limit i, capped at its new capacity (a new limit starts full); the new schedule starts
 *   now. Reply {0, 1 if the chain was given back and its pairs replayed on the new limits else 0,
 *   generation, take... for each pair replayed}.
 * A missing key is a new bucket holding the tokens-if-missing, its schedule starting now (or at
 * `origin`); one created less than full is written at its first use, even a read. A key of the format
 * before the configuration was stored (no `c`) is read as missing. Every write sets the key to expire
 * when the bucket would be full again (rounded up to whole ms, plus 1 s with client time, whose clock
 * may run slower than Redis', and at most 2^44 ms), so an idle key disappears by itself.
 */
export const BUCKET_SCRIPT = `
local key = KEYS[1]
local op = tonumber(ARGV[1])
local sent = ARGV[2]
local format = string.format
-- The limits of the configuration sent (ARGV 3..): a missing key takes them, op 3 puts them in force.
local n = tonumber(ARGV[3])
local capacity, refillTokens, interval = {}, {}, {}
for i = 1, n do
  local a = 3 * i + 1
  capacity[i] = tonumber(ARGV[a]); refillTokens[i] = tonumber(ARGV[a + 1]); interval[i] = tonumber(ARGV[a + 2])
end
local b = 3 * n + 4
local now = tonumber(ARGV[b])
-- A client clock may run slower than Redis' own: keep its keys a second longer.
local slack = 1000
if now == nil then
  slack = 0
  local time = redis.call('TIME')
  now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
end
local p = b + 2 + n

local state
if n == 1 then
  state = redis.call('HMGET', key, 'c', 'o', 'g', 't1', 's1')
else
  local fields = {'c', 'o', 'g', 't1', 's1'}
  for i = 2, n do fields[2 * i + 2] = 't' .. i; fields[2 * i + 3] = 's' .. i end
  state = redis.call('HMGET', key, unpack(fields))
end
local stored = state[1]
local exists = stored and true or false
-- The reply's first value: 0 while the configuration in force is the one sent, else the one in force.
local cfg = 0
local origin, gen
local tokens, step = {}, {}
if exists then
  origin = tonumber(state[2]); gen = tonumber(state[3])
  if stored ~= sent then
    -- Another configuration is stored: it is in force (until a later reconfiguration replaces it).
    cfg = stored
    local sentN = n
    capacity, refillTokens, interval = {}, {}, {}
    for c, r, v in string.gmatch(stored, '([^:,|]+):([^:,|]+):([^:,|]+)') do
      local i = #capacity + 1
      capacity[i] = tonumber(c); refillTokens[i] = tonumber(r); interval[i] = tonumber(v)
    end
    n = #capacity
    if n > sentN then
      local more = {}
      for i = sentN + 1, n do more[#more + 1] = 't' .. i; more[#more + 1] = 's' .. i end
      local extra = redis.call('HMGET', key, unpack(more))
      for j = 1, #extra do state[2 * sentN + 3 + j] = extra[j] end
    end
  end
  for i = 1, n do tokens[i] = tonumber(state[2 * i + 2]); step[i] = tonumber(state[2 * i + 3]) end
else
  if state[2] then redis.call('DEL', key) end -- the format before the configuration was stored
  origin = tonumber(ARGV[b + 1]) or now; gen = 0
  for i = 1, n do tokens[i] = tonumber(ARGV[b + 1 + i]); step[i] = 0 end
end
local writeConfig = not exists
-- The largest count a grant may take: the smallest capacity (LimitState.capacity).
local least = capacity[1]
for i = 2, n do if capacity[i] < least then least = capacity[i] end end

-- refill.ts, for limit i.
local function stepTime(i, k) return origin + k * interval[i] end
local function stepsAt(i, t)
  local elapsed = t - origin
  if not (elapsed > 0) then return 0 end
  local k = math.floor(elapsed / interval[i])
  if stepTime(i, k) > t then k = k - 1 elseif stepTime(i, k + 1) <= t then k = k + 1 end
  return k
end
local function refill(i, held, steps)
  if steps <= 0 then return held end
  if steps >= math.ceil((capacity[i] - held) / refillTokens[i]) then return capacity[i] end
  return held + steps * refillTokens[i]
end
local function stepsUntil(i, held, count)
  if count <= held then return 0 end
  return math.ceil((count - held) / refillTokens[i])
end

-- limits.ts: LimitState (SingleLimit with one limit, MultiLimit with several) on the arrays above.
local function advance(t)
  for i = 1, n do
    local current = stepsAt(i, t)
    if current > step[i] then tokens[i] = refill(i, tokens[i], current - step[i]); step[i] = current end
  end
end
local function grantTime(count)
  local at = stepTime(1, step[1] + stepsUntil(1, tokens[1], count))
  for i = 2, n do
    local t = stepTime(i, step[i] + stepsUntil(i, tokens[i], count))
    if t > at then at = t end
  end
  return at
end
local function grantNext(count)
  if n == 1 then
    local wait = stepsUntil(1, tokens[1], count)
    if wait > 0 then tokens[1] = refill(1, tokens[1], wait); step[1] = step[1] + wait end
    tokens[1] = tokens[1] - count
    return
  end
  local at = grantTime(count)
  for i = 1, n do
    local s = stepsAt(i, at)
    if s > step[i] then tokens[i] = refill(i, tokens[i], s - step[i]); step[i] = s end
    tokens[i] = tokens[i] - count
  end
end

-- decide.ts. decide() also says whether it refused (the core returns REFUSED, NaN, instead).
local function decide(count, maxWait)
  advance(now)
  local at = grantTime(count)
  if at <= now then
    for i = 1, n do tokens[i] = tokens[i] - count end -- LimitState.take
    return at, false
  end
  if maxWait and at - now > maxWait then return at, true end
  grantNext(count)
  return at, false
end

-- BucketBase.applySchedules: the sent limits replace the ones in force, at now, or at the tail's instant
-- while reservations are outstanding (so that none made under the old limits is granted twice); limit i
-- carries the tokens of old limit i, capped at its new capacity (a new limit starts full).
local reconfigure
if op == 3 or cfg ~= 0 then reconfigure = function()
  if exists then
    advance(now)
    local tail = now
    for i = 1, n do local at = stepTime(i, step[i]); if at > tail then tail = at end end
    local held, oldN = tokens, n
    n = tonumber(ARGV[3]); capacity, refillTokens, interval = {}, {}, {}
    for i = 1, n do
      local a = 3 * i + 1
      capacity[i] = tonumber(ARGV[a]); refillTokens[i] = tonumber(ARGV[a + 1]); interval[i] = tonumber(ARGV[a + 2])
    end
    origin = now; tokens = {}; step = {}
    for i = 1, n do tokens[i] = math.min(capacity[i], held[i] or capacity[i]); step[i] = stepsAt(i, tail) end
    for i = n + 1, oldN do redis.call('HDEL', key, 't' .. i, 's' .. i) end
  end
  least = capacity[1]
  for i = 2, n do if capacity[i] < least then least = capacity[i] end end
  gen = gen + 1
  writeConfig = true
  cfg = 0
end end

-- Writes the tail, and the configuration when it changed. Integers are written digit by digit ('%.0f':
-- Lua would use exponent notation), other numbers with '%.17g', so that they round-trip.
local function save()
  local write = {'g', format('%.0f', gen), 't1', format('%.0f', tokens[1]), 's1', format('%.0f', step[1])}
  local full = stepTime(1, step[1] + stepsUntil(1, tokens[1], capacity[1]))
  for i = 2, n do
    write[4 * i - 1] = 't' .. i; write[4 * i] = format('%.0f', tokens[i])
    write[4 * i + 1] = 's' .. i; write[4 * i + 2] = format('%.0f', step[i])
    local at = stepTime(i, step[i] + stepsUntil(i, tokens[i], capacity[i]))
    if at > full then full = at end
  end
  if writeConfig then
    local text = sent
    if cfg ~= 0 then text = cfg end
    write[#write + 1] = 'c'; write[#write + 1] = text; write[#write + 1] = 'o'; write[#write + 1] = format('%.17g', origin)
  end
  redis.call('HSET', key, unpack(write))
  local ttl = math.ceil(full - now) + slack
  if ttl < 1 then ttl = 1 elseif ttl > 17592186044416 then ttl = 17592186044416 end
  redis.call('PEXPIRE', key, format('%.0f', ttl))
end

-- Decides count for a caller arriving now behind every reservation (maxWait nil: no limit) and appends
-- the 5 + 2n values of a take to reply.
local function decideInto(reply, count, maxWait)
  local r = #reply
  local status, at, wait = 4, 0, 0
  for i = 1, n do reply[r + 4 + 2 * i] = tokens[i]; reply[r + 5 + 2 * i] = step[i] end
  if count <= least then
    local refused
    at, refused = decide(count, maxWait)
    if refused then status = 2 elseif at <= now then status = 1 else status = 3 end
    if status ~= 1 then wait = at - now end
    if status ~= 2 then gen = gen + 1 end
  end
  reply[r + 1] = status; reply[r + 2] = format('%.17g', wait); reply[r + 3] = format('%.17g', at)
  reply[r + 4] = format('%.17g', origin); reply[r + 5] = gen
  return status
end

-- A configuration sent by a reconfiguration later than the stored one's replaces it at its first use.
local stampOf = function(text) return tonumber(string.match(text, '^(%d+)|')) or 0 end
if op < 2 and cfg ~= 0 and stampOf(sent) > stampOf(cfg) then reconfigure() end
-- A bucket created less than full must start its schedule at its first use, even a read or a refusal:
-- otherwise every read would find it missing and fresh again, and it would never fill.
local fresh = false
if not exists then
  for i = 1, n do if tokens[i] < capacity[i] then fresh = true end end
end

if op == 0 then
  local count = tonumber(ARGV[p])
  if count > least then return {cfg, 4, 0, '0'} end
  -- peekAvailable, then peekWait: both bring the tail up to now and take nothing.
  advance(now)
  local available = 0
  if grantTime(1) <= now then
    available = tokens[1]
    for i = 2, n do if tokens[i] < available then available = tokens[i] end end
  end
  local wait = grantTime(count) - now
  if wait < 0 then wait = 0 end
  if fresh or writeConfig then save() end
  return {cfg, 0, available, format('%.17g', wait)}
end

if op == 1 then
  local reply = {cfg}
  local status = decideInto(reply, tonumber(ARGV[p]), tonumber(ARGV[p + 1]))
  if status == 1 or status == 3 or fresh or writeConfig then save() end
  return reply
end

-- replay (2) and reconfigure (3): give back this process's last reservations when the tail is still
-- where the last of them left it, then (3) put the new limits in force, then re-decide the pairs.
local m = tonumber(ARGV[p + 2])
local chained = exists and tonumber(ARGV[p + 1]) == gen and tonumber(ARGV[p]) == origin and m == n
if op == 2 and not chained then return {cfg, 0} end
if chained then
  for i = 1, n do tokens[i] = tonumber(ARGV[p + 1 + 2 * i]); step[i] = tonumber(ARGV[p + 2 + 2 * i]) end
  gen = gen + 1
end
if op == 3 then
  -- An explicit reconfiguration always wins, and is stamped later than the one it replaces.
  local stamp = stampOf(sent)
  local replaced = exists and stampOf(stored) or -1
  reconfigure()
  if stamp <= replaced then cfg = format('%.0f', replaced + 1) .. string.sub(sent, string.find(sent, '|', 1, true)) end
end
local reply = {cfg, chained and 1 or 0, gen}
if chained then
  for q = p + 3 + 2 * m, #ARGV, 2 do decideInto(reply, tonumber(ARGV[q]), tonumber(ARGV[q + 1])) end
end
save()
return reply
`;

/**
 * The SHA1 of {@link BUCKET_SCRIPT}, as `EVALSHA` expects it (40 lowercase hex digits). Written out
 * rather than computed so the store needs no crypto module; a test checks it against the script.
 */
export const BUCKET_SCRIPT_SHA = 'f3b6055e5cf09e6f057ce98125a551cc737ae202';
