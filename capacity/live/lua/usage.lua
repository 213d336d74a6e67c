-- Read, without changing anything, how much of each window of every account of a destination is
-- used now and when it is whole again: what capacity serve's rate-limit headers, quota gauges and
-- dashboard show.  The arithmetic is admit.lua's (normalize, in memory): a rolling log's entries
-- older than its length are left out, a fixed period that has ended reads as empty, a token
-- bucket is refilled to now.
--
-- KEYS     as admit.lua's
-- ARGV     1 now ('' = Redis TIME), 2 run start (epoch s), 3 accounts, 4 windows, 5.. six
--          arguments per window (see common.lua)
-- Reply    {now, used, whole at, used, whole at, ...}: per account, per window in order (run s)

local dest = KEYS[1]
local now = clock(ARGV[1], tonumber(ARGV[2]), dest)
local n = tonumber(ARGV[3])
local windows, pooled = parse_windows(5, tonumber(ARGV[4]))
local rolling = 0
for _, w in ipairs(windows) do
  if w.kind == 'R' then
    rolling = rolling + 1
    w.log = rolling
  end
end

local reply = {fmt(now)}
for a = 0, n - 1 do
  local base = 2 + a * (3 + rolling)
  local state = load_state(KEYS[base])
  local pstate = {}
  if pooled > 0 then
    pstate = load_state(KEYS[base + 2])
  end
  for j, w in ipairs(windows) do
    local st, i = state, j
    if w.pool then
      st, i = pstate, w.pj
    end
    local used, whole = 0, now
    if w.kind == 'R' then
      local log = KEYS[base + 2 + w.log]
      used = st['u' .. i] or 0
      local gone = redis.call('ZRANGEBYSCORE', log, '-inf', fmt(now - w.p1 + 1e-6), 'WITHSCORES')
      for k = 1, #gone, 2 do
        if tonumber(gone[k + 1]) + w.p1 <= now then
          used = used - entry_amount(gone[k])
        end
      end
      local last = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
      if #last == 0 then
        used = 0  -- no drift from float sums
      elseif used > 0 then
        whole = tonumber(last[2]) + w.p1
      end
    elseif w.kind == 'F' then
      local s, e = st['s' .. i], st['e' .. i]
      if s and e and s <= now and now < e then
        used = st['u' .. i] or 0
        if used > 0 then
          whole = e
        end
      end
    else
      local level, last = st['u' .. i] or w.limit, st['t' .. i] or 0
      if now > last then
        level = math.min(w.limit, level + (now - last) * w.p1)
      end
      used = w.limit - level
      if used > 0 then
        whole = now + used / w.p1
      end
    end
    reply[#reply + 1] = fmt(math.max(0, used))
    reply[#reply + 1] = fmt(whole)
  end
end
return reply
