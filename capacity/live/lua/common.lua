-- Shared by admit.lua, recover.lua and settle.lua (prepended to each by capacity/live/redis_scripts.py).
--
-- Every quota window is described by six arguments: kind, measure, limit, p1, p2, p3 (a lower-case
-- kind: the same, for a window of the account-wide allowances shared by the provider's models).
--   kind 'R' rolling window:  p1 = length, s.  State: field u<j> = sum in window; its entries in a
--                             sorted set, score = admitted at, member = '<ticket, 15 digits>:<amount>'
--                             (a refund replaces the member with the lowered amount).
--   kind 'F' fixed window:    p1, p2 = start, end of the period containing the router's estimate of
--                             now; p2, p3 = the next period (admit); p1 = the admission's period start
--                             (settle).  State: s<j>, e<j> = current period, u<j> = used in it.
--   kind 'B' token bucket:    p1 = refill rate per s, p2 = length, s.  State: u<j> = level, t<j> = last refill.
-- measure: 1 requests, 2 tokens (input + output), 3 neurons, 4 dollars, 5 input tokens, 6 output
-- tokens (capacity/live/redis_ledger.py's MEASURES).  Times are run seconds (s since the run's
-- start instant), on Redis's own clock unless the caller injects one.  The arithmetic is
-- capacity/policy/windows.py's, operation for operation, so both ledgers round alike.

local EPS = 1e-9
local MEASURES = 6  -- what a charge counts: one number per measure code
local INF = math.huge

local function fmt(x)
  return string.format('%.17g', x)
end

-- now, in run seconds: ARGV's injected time, or Redis TIME minus the run's start (epoch s);
-- never earlier than the last time this destination saw, so window logs stay in time order
local function clock(injected, epoch, dest)
  local now
  if injected == '' then
    local t = redis.call('TIME')
    now = tonumber(t[1]) + tonumber(t[2]) / 1000000 - epoch
  else
    now = tonumber(injected)
  end
  local last = redis.call('HGET', dest, 'now')
  if last and tonumber(last) > now then
    now = tonumber(last)
  end
  return now
end

-- a lower-case kind marks a window of the account's shared allowances (account_limits): its
-- state lives in the account's pool hash, under its index among the pool windows (w.pj)
local function parse_windows(first, count)
  local windows, pooled = {}, 0
  for j = 1, count do
    local a = first + (j - 1) * 6
    local kind = ARGV[a]
    windows[j] = {
      kind = string.upper(kind), measure = tonumber(ARGV[a + 1]), limit = tonumber(ARGV[a + 2]),
      p1 = tonumber(ARGV[a + 3]), p2 = tonumber(ARGV[a + 4]), p3 = tonumber(ARGV[a + 5]),
      pool = kind ~= string.upper(kind),
    }
    if windows[j].pool then
      pooled = pooled + 1
      windows[j].pj = pooled
    end
  end
  return windows, pooled
end

-- an account's state hash as numbers, and a copy to write back only what changed
local function load_state(key)
  local flat = redis.call('HGETALL', key)
  local state, loaded = {}, {}
  for k = 1, #flat, 2 do
    local value = tonumber(flat[k + 1])
    state[flat[k]], loaded[flat[k]] = value, value
  end
  return state, loaded
end

local function save_state(key, state, loaded)
  local flat = {}
  for field, value in pairs(state) do
    if loaded[field] ~= value then
      flat[#flat + 1] = field
      flat[#flat + 1] = fmt(value)
    end
  end
  if #flat > 0 then
    redis.call('HSET', key, unpack(flat))
  end
end

local function entry(ticket, amount)
  return string.format('%015d:', ticket) .. fmt(amount)
end

-- a shared (pool) log holds several destinations' tickets: its members start with the destination's key
local function log_member(w, dest, ticket, amount)
  return (w.pool and (dest .. '|') or '') .. entry(ticket, amount)
end

local function entry_amount(member_text)
  return tonumber(string.match(member_text, ':([^:|]*)$'))
end

local function expire_ms(key, seconds)
  if seconds < INF then
    redis.call('PEXPIRE', key, math.ceil(seconds * 1000) + 1000)
  end
end

-- rolling window: entries leave at exactly admitted + length (the instant free_at promises)
local function roll_expire(state, j, w, log, now)
  local f = 'u' .. j
  local sum = state[f] or 0
  -- the candidates by score (a microsecond's slack for rounding); the exact test decides
  local cut = fmt(now - w.p1 + 1e-6)
  while true do
    local batch = redis.call('ZRANGEBYSCORE', log, '-inf', cut, 'WITHSCORES', 'LIMIT', 0, 64)
    local gone = {}
    for k = 1, #batch, 2 do
      if tonumber(batch[k + 1]) + w.p1 <= now then
        gone[#gone + 1] = batch[k]
        sum = sum - entry_amount(batch[k])
      else
        break
      end
    end
    if #gone == 0 then
      break
    end
    redis.call('ZREM', log, unpack(gone))
    if #gone < 64 then
      break
    end
  end
  if sum ~= 0 and redis.call('ZCARD', log) == 0 then
    sum = 0  -- no drift from float sums
  end
  state[f] = sum
end

-- bring window j's state to now: expire a rolling log, roll a fixed period, refill a bucket
local function normalize(state, j, w, log, now)
  if w.kind == 'R' then
    roll_expire(state, j, w, log, now)
  elseif w.kind == 'F' then
    local s, e = state['s' .. j] or INF, state['e' .. j] or -INF
    if not (s <= now and now < e) then
      if w.p2 <= now and now < w.p3 then
        s, e = w.p2, w.p3
      else
        s, e = w.p1, w.p2
      end
      state['s' .. j], state['e' .. j], state['u' .. j] = s, e, 0
    end
  else
    local level, last = state['u' .. j] or w.limit, state['t' .. j] or 0
    if now > last then
      level = math.min(w.limit, level + (now - last) * w.p1)
      last = now
    end
    state['u' .. j], state['t' .. j] = level, last
  end
end

-- The recovery after an outage (capacity/live/redis_ledger.py's "Recovery"): the destination's
-- recovery hash holds k<i> for each router i that has written back its local admissions, 'release'
-- (run s: routers that have not are presumed gone, their local admissions out of every window),
-- 'lost' (run s, 0 when Redis kept its state: what a restarted Redis forgot has left every window
-- then) and 'open' (1 once the barrier is passed).  Answers 'open', 'closed' (some router may still
-- admit locally: nobody admits on the shared windows alone), 'none' (no recovery; the destination
-- hash exists or this is a first contact) or 'lost' (no recovery record and no destination hash:
-- for a router that was in a recovery, Redis forgot its state).
local function recovery_state(rec, dest, routers, now)
  local flat = redis.call('HGETALL', rec)
  if #flat == 0 then
    return (redis.call('EXISTS', dest) == 1) and 'none' or 'lost'
  end
  local f, returned = {}, 0
  for k = 1, #flat, 2 do
    f[flat[k]] = flat[k + 1]
    if string.sub(flat[k], 1, 1) == 'k' then
      returned = returned + 1
    end
  end
  if f.open == '1' then
    return 'open'
  end
  if (returned >= routers or now >= tonumber(f.release)) and now >= tonumber(f.lost) then
    redis.call('HSET', rec, 'open', '1')
    return 'open'
  end
  return 'closed'
end
