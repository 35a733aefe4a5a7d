import { SCRIPT_HEAD } from './scriptHead.js';

/** The general path of the bucket script, after {@link SCRIPT_HEAD}: every operation, any number of limits. */
const GENERAL_PATH = `-- The general path: every operation, any number of limits, a missing key, another configuration stored.
op = tonumber(op)
local n = 0
local capacity, refillTokens, interval, tokens, step = {}, {}, {}, {}, {}
local origin, gen
-- LimitState.resumeAt: the end of a pause in force (stored after the limits while it may be in force).
local resumeAt = -math.huge
-- What a pause adds to the generation, so that a reservation made before it is known to be voided.
local PAUSED = 4294967296
-- The instant a schedule starting now starts: now itself with client time, the whole ms of now with
-- Redis time (its µs say nothing about when the call was made, and whole instants are cheap to reply).
local start = now
if not timed then start = math.floor(now) end
-- Reads the limits of a configuration's text (stamp|capacity:refillTokens:interval,...).
local function readLimits(text)
  capacity, refillTokens, interval = {}, {}, {}
  for c, r, v in string.gmatch(text, '([^:,|]+):([^:,|]+):([^:,|]+)') do
    local i = #capacity + 1
    capacity[i] = tonumber(c); refillTokens[i] = tonumber(r); interval[i] = tonumber(v)
  end
  n = #capacity
end
local exists = value and true or false
-- The reply's first value: 0 while the configuration in force is the one sent, else the one in force.
local cfg = 0
if exists then
  if #value < 18 then return redis.error_reply('token-bucket-filter: ' .. key .. ' holds a string that is no bucket') end
  local pos
  n, origin, gen, pos = struct.unpack('<Hdd', value)
  -- 256 added to the count of limits: the pause's end follows them.
  local paused = n >= 256
  if paused then n = n - 256 end
  for i = 1, n do
    capacity[i], refillTokens[i], interval[i], tokens[i], step[i], pos = struct.unpack('<ddddd', value, pos)
  end
  if paused then resumeAt, pos = struct.unpack('<d', value, pos) end
  local stored = string.sub(value, pos)
  -- Another configuration is stored: it is in force (until a later reconfiguration replaces it).
  if stored ~= sent then cfg = stored end
else
  readLimits(sent)
  gen = 0
  -- ARGV[4]: '' (a full bucket, its schedule starting now) or origin|tokens,tokens... (origin '': now).
  local init = ARGV[4]
  if init == '' then
    origin = start
    for i = 1, n do tokens[i] = capacity[i]; step[i] = 0 end
  else
    local o, held = string.match(init, '^([^|]*)|(.*)$')
    origin = tonumber(o) or start
    local i = 0
    for t in string.gmatch(held, '[^,]+') do i = i + 1; tokens[i] = tonumber(t); step[i] = 0 end
  end
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
  if at < resumeAt then at = resumeAt end
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

-- limits.ts pauseUntil, on the tail: each limit as it stands at the pause's end (or at the tail, when
-- that is later), capped at one refill, and nothing granted before the end. The reservations in the
-- tail keep their tokens: a process whose sleeper is granted as planned (it does not ask, see
-- Pauses.ts) takes nothing twice; one that asks re-decides behind the pause (fewer tokens, never more).
local function placePaused(pauseEnd)
  for i = 1, n do
    local s = stepsAt(i, pauseEnd)
    if s > step[i] then tokens[i] = refill(i, tokens[i], s - step[i]); step[i] = s end
    if tokens[i] > refillTokens[i] then tokens[i] = refillTokens[i] end
  end
  resumeAt = pauseEnd
end

-- BucketBase.applySchedules: the sent limits replace the ones in force, at now, or at the tail's instant
-- while reservations are outstanding (so that none made under the old limits is granted twice); limit i
-- carries the tokens of old limit i, capped at its new capacity (a new limit starts full).
local function reconfigure()
  if exists then
    advance(now)
    local tail = now
    for i = 1, n do local at = stepTime(i, step[i]); if at > tail then tail = at end end
    local held = tokens
    readLimits(sent)
    origin = start; tokens = {}; step = {}
    for i = 1, n do tokens[i] = math.min(capacity[i], held[i] or capacity[i]); step[i] = stepsAt(i, tail) end
    -- A pause holds through a reconfiguration, capped at the new refillTokens (SharedState.keepPause).
    if resumeAt > now then placePaused(resumeAt) end
  end
  least = capacity[1]
  for i = 2, n do if capacity[i] < least then least = capacity[i] end end
  gen = gen + 1
  writeConfig = true
  cfg = 0
end

-- Writes the configuration in force with the tail, to expire when the bucket would be full again.
local function save()
  local full = stepTime(1, step[1] + stepsUntil(1, tokens[1], capacity[1]))
  -- A pause is kept while it may be in force (a second longer with client time), and the key with it.
  local paused = resumeAt > now - slack
  local parts = {struct.pack('<Hdd', paused and n + 256 or n, origin, gen)}
  for i = 1, n do
    parts[i + 1] = struct.pack('<ddddd', capacity[i], refillTokens[i], interval[i], tokens[i], step[i])
    local at = stepTime(i, step[i] + stepsUntil(i, tokens[i], capacity[i]))
    if at > full then full = at end
  end
  if paused then
    parts[n + 2] = struct.pack('<d', resumeAt)
    if resumeAt > full then full = resumeAt end
  end
  if cfg ~= 0 then parts[#parts + 1] = cfg else parts[#parts + 1] = sent end
  local ttl = math.ceil(full - now) + slack
  if ttl < 1 then ttl = 1 elseif ttl > MAX_TTL then ttl = MAX_TTL end
  redis.call('SET', key, table.concat(parts), 'PX', format('%d', ttl))
end

-- Decides count for a caller arriving now behind every reservation (maxWait nil: no limit) and appends
-- the 3 + 2n values of a take to reply.
local function decideInto(reply, count, maxWait)
  local r = #reply
  local status, at, wait = 4, 0, 0
  for i = 1, n do reply[r + 2 + 2 * i] = tokens[i]; reply[r + 3 + 2 * i] = step[i] end
  if count <= least then
    local refused
    at, refused = decide(count, maxWait)
    if refused then status = 2 elseif at <= now then status = 1 else status = 3 end
    if status ~= 1 then wait = at - now end
    if status ~= 2 then gen = gen + 1 end
  end
  reply[r + 1] = status; reply[r + 2] = num(wait); reply[r + 3] = num(at)
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
  local count = tonumber(ARGV[5])
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
  return {cfg, 0, available, num(wait)}
end

if op == 1 then
  local reply = {cfg, num(origin), gen}
  local wrote = fresh or writeConfig
  local q, last = 5, #ARGV
  while q < last do
    local times, count, maxWait = tonumber(ARGV[q]), tonumber(ARGV[q + 1]), tonumber(ARGV[q + 2])
    if timed then now = tonumber(ARGV[q + 3]); q = q + 4 else q = q + 3 end
    for _ = 1, times do
      local status = decideInto(reply, count, maxWait)
      if status == 1 or status == 3 then wrote = true end
    end
  end
  if wrote then save() end
  return reply
end

-- re-assert (4): this process's reservations, made in a key Redis has lost since (a restart without
-- persistence, an eviction), are taken again in this one, in order, as takes without a maxWait at now,
-- so that nobody is granted their tokens twice. Lost: the key is missing, or its origin is not the one
-- they were made in (ARGV[5]) while its configuration's stamp is theirs (ARGV[6]; a reconfiguration
-- moves the origin too, and keeps every reservation). Otherwise nothing is written.
if op == 4 then
  local lost = not exists or (origin ~= tonumber(ARGV[5]) and stampOf(cfg ~= 0 and cfg or sent) == tonumber(ARGV[6]))
  local reply = {cfg, lost and 1 or 0, num(origin), gen}
  if not lost then return reply end
  for q = 7, #ARGV do decideInto(reply, tonumber(ARGV[q]), nil) end
  save()
  return reply
end

-- return (6): give back reservations below someone else's that were made in the tail's epoch (no return
-- and no pause since: their states before are still the tail's history), when from each one's state before a refill
-- at every step up to the tail's stays within the capacity: the cap then never bound since, with it or
-- without it, so the tail without it holds exactly its count more, at the same steps. A return starts
-- a new epoch, so that none is given back twice and no state before a return is trusted after it.
if op == 6 then
  -- 2^20: a pause's 2^32 starts a new epoch too, and fewer than 4096 returns stay below it (a check
  -- before granting takes 2^32 for a pause: past it, a sleeper only re-decides, fewer tokens, never more).
  local EPOCH = 1048576
  local epoch = math.floor(gen / EPOCH)
  if not exists or tonumber(ARGV[5]) ~= origin or tonumber(ARGV[6]) ~= n or gen >= 4503599627370496 then
    return {cfg, 0, gen, gen}
  end
  local credit, q = 0, 7
  while q < #ARGV do
    local fits = math.floor(tonumber(ARGV[q + 1]) / EPOCH) == epoch
    for i = 1, n do
      local held, at = tonumber(ARGV[q + 2 * i]), tonumber(ARGV[q + 2 * i + 1])
      if held + (step[i] - at) * refillTokens[i] > capacity[i] then fits = false end
    end
    if fits then credit = credit + tonumber(ARGV[q]) end
    q = q + 2 + 2 * n
  end
  local was = gen
  if credit > 0 then
    for i = 1, n do tokens[i] = tokens[i] + credit end
    gen = (epoch + 1) * EPOCH
    save()
  end
  return {cfg, credit, was, gen}
end

-- replay (2), reconfigure (3) and pause (5): give back this process's last reservations when the tail
-- is still where the last of them left it, then (3) put the new limits in force or (5) pause, then
-- re-decide the pairs.
local m = tonumber(ARGV[7])
local chained = exists and tonumber(ARGV[6]) == gen and tonumber(ARGV[5]) == origin and m == n
if op == 2 and not chained then return {cfg, 0} end
local pairsAt = 8 + 2 * m
local pauseEnd, repause
if op == 5 then
  local ms, check = tonumber(ARGV[pairsAt]), tonumber(ARGV[pairsAt + 1])
  pairsAt = pairsAt + 2
  if ms then pauseEnd = now + ms end
  if pauseEnd == nil then
    -- A check before granting: no pause since the reservation of generation check, nothing to do.
    if exists and check and check <= gen and gen - check < PAUSED then return {cfg, 2} end
    -- Voided by a pause. This process's run is given back if only pauses wrote since its top, and the
    -- pause in force is put on the state before it (pauseUntil on the state before every reservation).
    local since = gen - (tonumber(ARGV[6]) or gen)
    chained = exists and tonumber(ARGV[5]) == origin and m == n and since > 0 and since % PAUSED == 0
    repause = chained and resumeAt > -math.huge
  elseif pauseEnd <= resumeAt then
    return {cfg, 2} -- a pause in force lasts longer: changes nothing
  end
end
if chained then
  for i = 1, n do tokens[i] = tonumber(ARGV[6 + 2 * i]); step[i] = tonumber(ARGV[7 + 2 * i]) end
  gen = gen + 1
end
if pauseEnd then
  placePaused(pauseEnd)
  gen = gen + PAUSED
elseif repause then
  placePaused(resumeAt)
end
if op == 3 then
  -- An explicit reconfiguration always wins, and is stamped later than the one it replaces.
  local stamp = stampOf(sent)
  local replaced = -1
  if exists then replaced = stampOf(cfg ~= 0 and cfg or sent) end
  reconfigure()
  if stamp <= replaced then cfg = format('%.0f', replaced + 1) .. string.sub(sent, string.find(sent, '|', 1, true)) end
end
local replan = chained or op == 5
local reply = {cfg, replan and 1 or 0, num(origin), gen}
if replan then
  for q = pairsAt, #ARGV, 2 do decideInto(reply, tonumber(ARGV[q]), tonumber(ARGV[q + 1])) end
end
save()
return reply
`;

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
 * | `pauseUntil(state, until)` (`LimitState.pauseUntil`, `resumeAt` in `grantTime`) | `placePaused` and the gate in `grantTime` (op 5) |
 * | the same with one limit (`SingleLimit`)    | the lean path (takes on a one-limit key that holds the configuration sent): the functions above written out inline, in the same order |
 *
 * The lean path is the hot case, every take on an existing key of one limit whose configuration is the
 * one sent: one `GET`, one `SET … PX` and Redis `TIME`, no function defined, no number read from text.
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
 *   now. Reply {cfg, origin ms, generation before the first take, take...}, where a
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
 *   generation, so that every reservation made before it is known to be voided; a check gives back
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
export const BUCKET_SCRIPT = SCRIPT_HEAD + GENERAL_PATH;

/**
 * The SHA1 of {@link BUCKET_SCRIPT}, as `EVALSHA` expects it (40 lowercase hex digits). Written out
 * rather than computed so the store needs no crypto module; a test checks it against the script.
 */
export const BUCKET_SCRIPT_SHA = '1818f3aac242476e21e12698469096a82edc9aac';
