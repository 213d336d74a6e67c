-- Settle one admission after its response: refund what was reserved but not used, free its slot.
-- The semantics are capacity/policy/ledger.py's AccountQuota.settle: each window whose measure has
-- an unused part (> 0) gives it back if it still counts the charge (a rolling entry still in its
-- window, the same fixed period, any bucket, never above its limit); a refund clears a cached
-- refusal unless that refusal counted requests.  Nothing is refunded where the provider charges
-- the maximum output up front.  An admission settles once: a settlement resent, or arriving after
-- the admission's lease ended (its slot already freed), changes nothing.
--
-- KEYS[1]  destination hash; KEYS[2] the account's state hash; KEYS[3] its open admissions;
--          KEYS[4] the account's pool hash (shared allowances); then the log of each rolling window
-- ARGV     1 now ('' = Redis TIME), 2 run start (epoch s), 3 refundable (1/0), 4-9 the charge
--          reserved (requests, tokens, neurons, dollars, input tokens, output tokens), 10-15 its
--          unused part, 16 ticket, 17 admitted at (run s), 18 windows, 19.. six arguments per
--          window (a fixed window's p1: the period start it was charged in)
-- Reply    now, run s

local dest, state_key, open, pool_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = clock(ARGV[1], tonumber(ARGV[2]), dest)
local reserved, unused = {}, {}
for m = 1, MEASURES do
  reserved[m] = tonumber(ARGV[3 + m])
  unused[m] = tonumber(ARGV[3 + MEASURES + m])
end
local ticket = tonumber(ARGV[4 + 2 * MEASURES])
local admitted = tonumber(ARGV[5 + 2 * MEASURES])
local windows, pooled = parse_windows(7 + 2 * MEASURES, tonumber(ARGV[6 + 2 * MEASURES]))

local member = string.format('%015d', ticket)
local lease_end = tonumber(redis.call('ZSCORE', open, member) or '-inf')
redis.call('ZREM', open, member)
if lease_end > now and ARGV[3] == '1' then
  local state, loaded = load_state(state_key)
  local pstate, ploaded = {}, {}
  if pooled > 0 then
    pstate, ploaded = load_state(pool_key)
  end
  local next_log = 5
  for j, w in ipairs(windows) do
    local log = nil
    if w.kind == 'R' then
      log, next_log = KEYS[next_log], next_log + 1
    end
    local st, i = state, j
    if w.pool then
      st, i = pstate, w.pj
    end
    local give = unused[w.measure]
    if give > 0 then
      if w.kind == 'R' then
        normalize(st, i, w, log, now)
        local charged = reserved[w.measure]
        local old = log_member(w, dest, ticket, charged)
        local score = redis.call('ZSCORE', log, old)
        if score and admitted + w.p1 > now then
          give = math.min(give, charged)
          redis.call('ZREM', log, old)
          redis.call('ZADD', log, score, log_member(w, dest, ticket, charged - give))
          st['u' .. i] = st['u' .. i] - give
        end
      elseif w.kind == 'F' then
        -- a period that ended is rolled by the next admission; only the charged period refunds
        local s, e = st['s' .. i], st['e' .. i]
        if s and s <= now and now < e and s == w.p1 then
          st['u' .. i] = math.max(0, st['u' .. i] - give)
        end
      else
        normalize(st, i, w, log, now)
        st['u' .. i] = math.min(w.limit, st['u' .. i] + give)
      end
    end
  end
  if pooled > 0 then
    save_state(pool_key, pstate, ploaded)
  end
  if (state.bm or 1) ~= 1 then
    state.bu = -INF  -- refunded tokens may make room (a request-count refusal stays)
  end
  save_state(state_key, state, loaded)
end
redis.call('HSET', dest, 'now', fmt(now))
return fmt(now)
