/**
 * The general path's first part, after `SCRIPT_HEAD`: the stored state read into the limits'
 * arrays (`capacity`, `refillTokens`, `interval`, `tokens`, `step`, `origin`, the generation, a pause's
 * end), or a missing key's new bucket built from the sent configuration. Lua text, concatenated in
 * `script.ts`; see `BUCKET_SCRIPT` for the whole script's contract.
 */
export const SCRIPT_STATE = `-- The general path: every operation, any number of limits, a missing key, another configuration stored.
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

`;
