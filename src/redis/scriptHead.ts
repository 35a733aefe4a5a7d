/**
 * The first part of the bucket script ({@link BUCKET_SCRIPT} in `script.ts`, which says what every
 * argument and reply value means): it reads the arguments, the time (Redis `TIME` unless the call
 * sends its own now) and the key (a hash of an earlier format is deleted and read as missing; any other
 * hash is the caller's error), then
 * runs the lean path, which returns when it applies: takes (op 1) on an existing key of one limit that
 * holds the configuration sent. Its decision is the general path's `decide()` with one limit
 * (`SingleLimit` in `src/core/limits.ts`), the functions written out inline in the same order: advance
 * to now, the grant time, then grant now, refuse past maxWait, or reserve (`grantNext`). Otherwise the
 * general path (`scriptState.ts`, `scriptDecision.ts`, `scriptOperations.ts`) goes on from here.
 * Internal: not exported by the package.
 */
export const SCRIPT_HEAD = `
local key = KEYS[1]
local op = ARGV[1]
local sent = ARGV[2]
-- Small arguments are compared as text first: a tonumber() costs more than the comparison.
local now = ARGV[3]
if now == '' then now = nil else now = tonumber(now) end
-- With client time every take carries its own now; a client clock may run slower than Redis' own,
-- so its keys are kept a second longer.
local timed, slack = true, 1000
if now == nil then
  timed, slack = false, 0
  local time = redis.call('TIME')
  now = time[1] * 1000 + time[2] / 1000
end
local value = redis.pcall('GET', key)
if type(value) == 'table' then
  -- Not a string: a hash of an earlier format (fields o, and s or s1) is read as missing; anything
  -- else (a list, a set, a user's own hash) is the caller's error, left as it is.
  if redis.call('TYPE', key).ok ~= 'hash' or redis.call('HEXISTS', key, 'o') == 0
    or (redis.call('HEXISTS', key, 's') == 0 and redis.call('HEXISTS', key, 's1') == 0) then return value end
  redis.call('DEL', key)
  value = false
end
local format = string.format
-- Reply numbers: integers as they are, other doubles as '%.17g' strings (which round-trip).
local function num(x)
  if x % 1 == 0 and x < 9007199254740992 and x > -9007199254740992 then return x end
  return format('%.17g', x)
end
local MAX_TTL = 17592186044416 -- 2^44 ms

-- The lean path: takes on a key of one limit holding the configuration sent. The same operations as
-- the general path below (advance, grantTime, take, grantNext, decide with one limit), written out.
if op == '1' and value and #value == 58 + #sent and string.find(value, sent, 59, true) == 59 then
  local n, origin, gen, capacity, refillTokens, interval, tokens, step = struct.unpack('<Hddddddd', value)
  if n == 1 then
    -- The reply's values, sized for one take: 0 (the configuration sent is in force), origin, the
    -- generation before the first take, then each take's status, wait, grantAt, tokens and step before it.
    local reply = {0, origin, gen, 0, 0, 0, 0, 0}
    local r, wrote, q, last = 3, false, 5, #ARGV
    while q < last do
      -- A run of takes: how many, then count and maxWait (and now with client time) they share.
      local times, count, maxWait = ARGV[q], ARGV[q + 1], ARGV[q + 2]
      if times == '1' then times = 1 else times = tonumber(times) end
      if count == '1' then count = 1 else count = tonumber(count) end
      if maxWait == '0' then maxWait = 0 elseif maxWait == '' then maxWait = nil else maxWait = tonumber(maxWait) end
      if timed then now = tonumber(ARGV[q + 3]); q = q + 4 else q = q + 3 end
      for _ = 1, times do
        local status, wait, at = 4, 0, 0
        reply[r + 4] = tokens; reply[r + 5] = step
        if count <= capacity then
          -- advance(now)
          local elapsed = now - origin
          if elapsed > 0 then
            local k = math.floor(elapsed / interval)
            if origin + k * interval > now then k = k - 1 elseif origin + (k + 1) * interval <= now then k = k + 1 end
            if k > step then
              if k - step >= math.ceil((capacity - tokens) / refillTokens) then tokens = capacity
              else tokens = tokens + (k - step) * refillTokens end
              step = k
            end
          end
          -- grantTime(count), then decide
          local need = 0
          if count > tokens then need = math.ceil((count - tokens) / refillTokens) end
          at = origin + (step + need) * interval
          if at <= now then
            tokens = tokens - count
            status = 1
          elseif maxWait and at - now > maxWait then
            status, wait = 2, at - now
          else
            if need > 0 then
              if need >= math.ceil((capacity - tokens) / refillTokens) then tokens = capacity
              else tokens = tokens + need * refillTokens end
              step = step + need
            end
            tokens = tokens - count
            status, wait = 3, at - now
          end
          if status ~= 2 then gen = gen + 1; wrote = true end
        end
        reply[r + 1] = status; reply[r + 2] = wait; reply[r + 3] = at
        r = r + 5
      end
    end
    if wrote then
      local full = step
      if tokens < capacity then full = step + math.ceil((capacity - tokens) / refillTokens) end
      local ttl = math.ceil(origin + full * interval - now) + slack
      if ttl < 1 then ttl = 1 elseif ttl > MAX_TTL then ttl = MAX_TTL end
      -- The TTL as text, digit by digit (as the number it is; '%d' never writes an exponent).
      redis.call('SET', key, struct.pack('<Hdddddddc0', 1, origin, gen, capacity, refillTokens, interval, tokens, step, sent), 'PX', format('%d', ttl))
    end
    if timed then
      -- Client time: the values themselves, instants and waits through num().
      if r == 3 then reply[4] = nil end
      reply[2] = num(reply[2])
      for j = 5, r, 5 do reply[j] = num(reply[j]); reply[j + 1] = num(reply[j + 1]) end
      return reply
    end
    -- Redis time: one string, the values after the 0 separated by spaces, each written as the table's
    -- would read back (integers with %d, origin, waits and instants with %.17g, which round-trips).
    -- One take (a call alone): whole origin, instant and wait (a grant's 0) below 2^53 with %d, which
    -- costs Redis far less than %.17g and reads back the same.
    if r == 8 then
      local o, w, a = reply[2], reply[5], reply[6]
      if o % 1 == 0 and a % 1 == 0 and o > -9007199254740992 and a < 9007199254740992 then
        if w == 0 then return format('%d %d %d 0 %d %d %d', o, reply[3], reply[4], a, reply[7], reply[8]) end
        return format('%d %d %d %.17g %d %d %d', o, reply[3], reply[4], w, a, reply[7], reply[8])
      end
      return format('%.17g %d %d %.17g %.17g %d %d', o, reply[3], reply[4], w, a, reply[7], reply[8])
    end
    -- A batch: each take's part the same way (a grant at a whole instant: %d alone).
    local o = reply[2]
    local text = {format('%.17g %d', o, reply[3])}
    local whole = o % 1 == 0 and o > -9007199254740992
    for j = 4, r, 5 do
      local w, a = reply[j + 1], reply[j + 2]
      if whole and w == 0 and a % 1 == 0 and a < 9007199254740992 then
        text[#text + 1] = format('%d 0 %d %d %d', reply[j], a, reply[j + 3], reply[j + 4])
      else
        text[#text + 1] = format('%d %.17g %.17g %d %d', reply[j], w, a, reply[j + 3], reply[j + 4])
      end
    end
    return table.concat(text, ' ')
  end
end

`;
