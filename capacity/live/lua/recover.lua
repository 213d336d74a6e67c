-- A router back on Redis after an outage writes back the admissions its local ledger made that may
-- still count in a window, and joins the destination's recovery (common.lua's recovery_state); the
-- first to write back starts it.  Each local admission is charged to the shared windows without a
-- check (the router's 1/N share admitted it): a rolling window logs it at its own time if it is still
-- in the window; a fixed window counts it if it fell in the current period; a token bucket is drawn
-- by it if it was made within the bucket's length (an upper bound of what it still owes: the bucket
-- is never fuller than the fleet's).  Written-back entries are never refunded (the safe side).
--
-- KEYS     as admit.lua's: the destination hash, each account's keys, the recovery hash last
-- ARGV     1 now ('' = Redis TIME), 2 run start (epoch s), 3 router index, 4 routers, 5 the run time
--          from which what a forgetful Redis lost has left every window (used when this write-back
--          starts the recovery on a Redis without the destination's state), 6 release (run s: see
--          common.lua), 7 accounts, 8 windows, 9.. six arguments per window (see common.lua), then
--          the number of local admissions and, for each, its account (0-based), time (run s) and
--          the charge (six measures, as admit.lua's ARGV 5-10)
-- Reply    {'O' (the barrier is passed) | 'W' (still recovering), now}

local dest, rec = KEYS[1], KEYS[#KEYS]
local now = clock(ARGV[1], tonumber(ARGV[2]), dest)
local router, routers = ARGV[3], tonumber(ARGV[4])
local n = tonumber(ARGV[7])
local windows, pooled = parse_windows(9, tonumber(ARGV[8]))

local life, rolling = 0, 0
for _, w in ipairs(windows) do
  if w.kind == 'R' then
    rolling = rolling + 1
    w.log = rolling
    life = math.max(life, w.p1)
  elseif w.kind == 'F' then
    life = math.max(life, w.p3 - now, w.p2 - w.p1)
  else
    life = math.max(life, w.p2)
  end
end

-- a key's lifetime is only ever lengthened here (admit.lua knows the leases that set it)
local function keep_ms(key, seconds, existed)
  if not existed then
    expire_ms(key, seconds)
  else
    local ttl = redis.call('PTTL', key)
    if ttl >= 0 and ttl < seconds * 1000 then
      expire_ms(key, seconds)
    end
  end
end

local dest_existed = redis.call('EXISTS', dest) == 1
local state = recovery_state(rec, dest, routers, now)
if state ~= 'closed' then  -- a new recovery: the barrier starts again for every router
  local lost = dest_existed and '0' or ARGV[5]
  redis.call('DEL', rec)
  redis.call('HSET', rec, 'release', ARGV[6], 'lost', lost, 'open', '0')
end
local release = tonumber(redis.call('HGET', rec, 'release'))
redis.call('HSET', rec, 'k' .. router, '1')
expire_ms(rec, math.max(life, release - now))

local first = 9 + 6 * #windows
local entries = tonumber(ARGV[first])
local accounts = {}
for e = 0, entries - 1 do
  local at = first + 1 + e * (2 + MEASURES)
  local a = tonumber(ARGV[at])
  local list = accounts[a] or {}
  local amounts = {}
  for m = 1, MEASURES do
    amounts[m] = tonumber(ARGV[at + 1 + m])
  end
  list[#list + 1] = {t = tonumber(ARGV[at + 1]), amounts = amounts}
  accounts[a] = list
end

for a, list in pairs(accounts) do
  local base = 2 + a * (3 + rolling)
  local st_key, pool_key = KEYS[base], KEYS[base + 2]
  local existed = redis.call('EXISTS', st_key) == 1
  local pool_existed = redis.call('EXISTS', pool_key) == 1
  local st, loaded = load_state(st_key)
  local pst, ploaded = load_state(pool_key)
  for j, w in ipairs(windows) do
    local s, i = st, j
    if w.pool then
      s, i = pst, w.pj
    end
    local log = w.log and KEYS[base + 2 + w.log]
    normalize(s, i, w, log, now)
    for _, entry in ipairs(list) do
      local amount = entry.amounts[w.measure]
      if w.kind == 'R' and entry.t + w.p1 > now then
        local tag = 'w' .. router .. '.' .. redis.call('HINCRBY', rec, 'seq', 1)
        redis.call('ZADD', log, fmt(entry.t), (w.pool and (dest .. '|') or '') .. tag .. ':' .. fmt(amount))
        expire_ms(log, w.p1)
        s['u' .. i] = s['u' .. i] + amount
      elseif w.kind == 'F' and s['s' .. i] <= entry.t and entry.t < s['e' .. i] then
        s['u' .. i] = s['u' .. i] + amount
      elseif w.kind == 'B' and entry.t + w.p2 > now then
        s['u' .. i] = s['u' .. i] - amount
      end
    end
  end
  st.bu = -INF  -- a cached refusal knows nothing of these
  save_state(st_key, st, loaded)
  keep_ms(st_key, life, existed)
  if pooled > 0 then
    save_state(pool_key, pst, ploaded)
    keep_ms(pool_key, life, pool_existed)
  end
end

redis.call('HSET', dest, 'now', fmt(now))
keep_ms(dest, life, dest_existed)
state = recovery_state(rec, dest, routers, now)
return {(state == 'open') and 'O' or 'W', fmt(now)}
