/**
 * The general path's second part: the declared port of the core, function by function (`refill.ts`'s
 * arithmetic, `limits.ts`'s `advance`/`grantTime`/`grantNext`, `decide.ts`'s `decide`, `pauseUntil` as
 * `placePaused`, `BucketBase.applySchedules` as `reconfigure`), and `save`/`decideInto`, which write the
 * tail back and append one decision to the reply. Lua text, concatenated in `script.ts`; the table of
 * `BUCKET_SCRIPT`'s doc comment maps each function to its TypeScript original.
 */
export const SCRIPT_DECISION = `-- refill.ts, for limit i.
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

`;
