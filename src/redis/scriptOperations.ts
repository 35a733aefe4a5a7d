/**
 * The general path's last part: the operations, dispatched on `op` (0 peek, 1 take, 2 replay,
 * 3 reconfigure, 4 re-assert, 5 pause or check, 6 return), each built on the functions of `scriptDecision.ts`.
 * Lua text, concatenated in `script.ts`; `BUCKET_SCRIPT`'s doc comment gives each operation's arguments
 * and reply.
 */
export const SCRIPT_OPERATIONS = `-- A configuration sent by a reconfiguration later than the stored one's replaces it at its first use.
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
local notice
if pauseEnd then
  placePaused(pauseEnd)
  gen = gen + PAUSED
  notice = format('%.17g %.17g', origin, gen)
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
-- A pause tells every process now (plain PUBLISH: a cluster delivers it from any node), naming the
-- key's origin and its generation right after the pause: their sleepers reserved below it re-plan.
if notice then redis.call('PUBLISH', KEYS[1] .. ':pause', notice) end
return reply
`;
