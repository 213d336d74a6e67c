-- Admit one request on the first account of a destination with room in every window, atomically.
-- The semantics are capacity/policy/ledger.py's DestinationQuota.try_admit, step for step:
-- accounts are tried round robin from the last one used; an account's cached refusal answers at
-- once; then its concurrency slots; then each window in order, the first without room refusing
-- (its free-at time is cached, keyed by its measure).  With room everywhere, every window is
-- charged and the admission opened (a lease: its concurrency slot, and its right to one settlement).
--
-- KEYS[1]  destination hash (next account, last time seen)
-- per account a = 0..n-1, from k = 2 + a * (3 + rolling windows): KEYS[k] the account's state
--          hash, KEYS[k+1] its open admissions (sorted set: ticket -> lease end), KEYS[k+2] the
--          account's pool hash (its shared allowances' state), then the log of each rolling window
-- ARGV     1 now ('' = Redis TIME), 2 run start (epoch s), 3 strict (1: answer 'T' when a fixed
--          window's given periods miss now), 4 withdrawn at (run s), 5-10 the charge (requests,
--          tokens, neurons, dollars, input tokens, output tokens), 11 concurrent-request limit
--          (0: none), 12 lease s, 13 accounts, 14 windows, 15.. six arguments per window (see common.lua),
--          then the router's index, the fleet's size, the mode and an account (below)
-- KEYS[#KEYS] the destination's recovery hash (common.lua's recovery_state)
-- Mode     'G' global: admit on the shared windows, unless a recovery is under way ({'C', now}: the
--          router is to write back and join it).  While one is (its barrier not passed), a router
--          that has joined it asks with 'S' (its local ledger admitted the request on the given
--          account: charge that account if its shared windows have room too) or
--          'P' (its local ledger refused: {'W', now}).  Once the barrier is passed, 'S' and 'P'
--          admit as 'G' does; {'L', now} if Redis has forgotten the recovery and the destination.
-- Reply    {'A', account, ticket, now, {fixed period starts}, 'G' | 'S'} | {'R', free at, now[, 'S']} | {'T', now}
--          ('S': answered on the local share's terms, the barrier not passed)

local dest = KEYS[1]
local now = clock(ARGV[1], tonumber(ARGV[2]), dest)
local strict = ARGV[3] == '1'
local withdrawn = tonumber(ARGV[4])
local charge = {}
for m = 1, MEASURES do
  charge[m] = tonumber(ARGV[4 + m])
end
local slots = tonumber(ARGV[5 + MEASURES])
local lease = tonumber(ARGV[6 + MEASURES])
local n = tonumber(ARGV[7 + MEASURES])
local windows, pooled = parse_windows(9 + MEASURES, tonumber(ARGV[8 + MEASURES]))

if now >= withdrawn then
  return {'R', fmt(INF), fmt(now)}
end

-- how long an account's state matters (s), for key expiry: its longest window, its open leases
local life, rolling = lease, 0
for _, w in ipairs(windows) do
  if w.kind == 'R' then
    rolling = rolling + 1
    w.log = rolling
    life = math.max(life, w.p1)
  elseif w.kind == 'F' then
    if strict and not (w.p1 <= now and now < w.p3) then
      return {'T', fmt(now)}
    end
    life = math.max(life, w.p3 - now, w.p2 - w.p1)
  else
    life = math.max(life, w.p2)
  end
end

-- a window's free-at time (capacity/policy/windows.py's free_at), its state already brought to now
local function free_at(state, j, w, log, amount)
  if amount > w.limit * (1 + EPS) then
    return INF
  end
  if w.kind == 'F' then
    return (state['u' .. j] + amount <= w.limit * (1 + EPS)) and now or state['e' .. j]
  elseif w.kind == 'B' then
    local missing = amount - state['u' .. j]
    return (missing <= w.limit * EPS) and now or (now + missing / w.p1)
  end
  local excess = state['u' .. j] + amount - w.limit * (1 + EPS)
  if excess <= 0 then
    return now
  end
  local offset = 0
  while true do  -- oldest first, in batches (a day's log may hold thousands of entries)
    local entries = redis.call('ZRANGE', log, offset, offset + 255, 'WITHSCORES')
    if #entries == 0 then
      return INF
    end
    for k = 1, #entries, 2 do
      excess = excess - entry_amount(entries[k])
      if excess <= 0 then
        return tonumber(entries[k + 1]) + w.p1
      end
    end
    offset = offset + 256
  end
end

local function slots_full(open)
  redis.call('ZREMRANGEBYSCORE', open, '-inf', fmt(now))  -- leases of crashed routers end
  return redis.call('ZCARD', open) >= slots
end

-- charge every window of account a (its state already brought to now) and open the admission
local function charge_account(a, base, state, pstate)
  local ticket = (state.seq or 0) + 1
  local starts = {}
  state.seq = ticket
  for j, w in ipairs(windows) do
    local amount = charge[w.measure]
    local st, i = state, j
    if w.pool then
      st, i = pstate, w.pj
    end
    if w.kind == 'R' then
      local log = KEYS[base + 2 + w.log]
      redis.call('ZADD', log, fmt(now), log_member(w, dest, ticket, amount))
      expire_ms(log, w.p1)
      st['u' .. i] = st['u' .. i] + amount
    elseif w.kind == 'F' then
      st['u' .. i] = st['u' .. i] + amount
      starts[#starts + 1] = fmt(st['s' .. i])
    else
      st['u' .. i] = st['u' .. i] - amount
    end
  end
  local open = KEYS[base + 1]
  if slots == 0 then
    redis.call('ZREMRANGEBYSCORE', open, '-inf', fmt(now))
  end
  redis.call('ZADD', open, fmt(now + lease), string.format('%015d', ticket))
  expire_ms(open, lease)
  return ticket, starts
end

local function account_state(a)
  local base = 2 + a * (3 + rolling)
  local state, loaded = load_state(KEYS[base])
  local pstate, ploaded = {}, {}
  if pooled > 0 then
    pstate, ploaded = load_state(KEYS[base + 2])
  end
  local function save_all()
    save_state(KEYS[base], state, loaded)
    expire_ms(KEYS[base], life)
    if pooled > 0 then
      save_state(KEYS[base + 2], pstate, ploaded)
      expire_ms(KEYS[base + 2], life)
    end
  end
  return base, state, pstate, save_all
end

local at = 9 + MEASURES + 6 * #windows
local routers, mode = tonumber(ARGV[at + 1]), ARGV[at + 2]
local recovery = recovery_state(KEYS[#KEYS], dest, routers, now)
if recovery == 'closed' then
  if mode == 'G' then
    return {'C', fmt(now)}
  elseif mode == 'P' then
    return {'W', fmt(now)}
  end
  -- 'S': the local share admitted it on account a; the shared windows must have room too (after
  -- a release they hold everything that counts)
  local a = tonumber(ARGV[at + 3])
  local base, state, pstate, save_all = account_state(a)
  for j, w in ipairs(windows) do
    local log = w.log and KEYS[base + 2 + w.log]
    local st, i = state, j
    if w.pool then
      st, i = pstate, w.pj
    end
    normalize(st, i, w, log, now)
    local used = st['u' .. i]
    if w.kind == 'B' then
      used = w.limit - used
    end
    if not (used + charge[w.measure] <= w.limit * (1 + EPS)) then
      local refused = free_at(st, i, w, log, charge[w.measure])
      save_all()
      return {'R', fmt(refused), fmt(now), 'S'}
    end
  end
  local ticket, starts = charge_account(a, base, state, pstate)
  save_all()
  redis.call('HSET', dest, 'now', fmt(now))
  expire_ms(dest, life)
  return {'A', a, ticket, fmt(now), starts, 'S'}
elseif recovery == 'lost' and mode ~= 'G' then
  return {'L', fmt(now)}
end

local first = tonumber(redis.call('HGET', dest, 'next') or '0')
local earliest = INF
for step = 0, n - 1 do
  local a = (first + step) % n
  local base, state, pstate, save_all = account_state(a)
  local open = KEYS[base + 1]
  local bu, bm, ba = state.bu or -INF, state.bm or 1, state.ba or INF
  if now < bu and charge[bm] >= ba then
    -- the cached refusal stands: usage only grows until a refund clears it
    earliest = math.min(earliest, bu)
  elseif slots > 0 and slots_full(open) then
    earliest = math.min(earliest, INF)  -- only a freed slot can help
  else
    local refused = nil
    for j, w in ipairs(windows) do
      local log = w.log and KEYS[base + 2 + w.log]
      local amount = charge[w.measure]
      local st, i = state, j
      if w.pool then
        st, i = pstate, w.pj
      end
      normalize(st, i, w, log, now)
      local used = st['u' .. i]
      if w.kind == 'B' then
        used = w.limit - used
      end
      if not (used + amount <= w.limit * (1 + EPS)) then
        refused = free_at(st, i, w, log, amount)
        state.bu, state.bm = refused, w.measure
        state.ba = (w.measure == 1) and 0 or amount
        break
      end
    end
    if refused == nil then
      local ticket, starts = charge_account(a, base, state, pstate)
      save_all()
      redis.call('HSET', dest, 'next', a, 'now', fmt(now))
      expire_ms(dest, life)
      return {'A', a, ticket, fmt(now), starts, 'G'}
    end
    save_all()
    earliest = math.min(earliest, refused)
  end
end
redis.call('HSET', dest, 'now', fmt(now))
expire_ms(dest, life)
return {'R', fmt(earliest), fmt(now)}
