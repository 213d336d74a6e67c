-- Settle one admission after its response: refund what was reserved but not used, free its slot.
-- The semantics are capacity/policy/ledger.py's AccountQuota.settle: each window whose measure has
-- an unused part (> 0) gives it back if it still counts the charge (a rolling entry still in its
-- window, the same fixed period, any bucket, never above its limit); a refund clears a cached
-- refusal unless that refusal counted requests.  Nothing is refunded where the provider charges
-- the maximum output up front. An admission settles once: a settlement resent, or arriving after
-- the admission's lease ended (its slot already freed), refunds nothing.
--
-- KEYS[1]  destination hash; KEYS[2] the account's state hash; KEYS[3] its open admissions;
--          then per rolling window its log and its amounts
-- ARGV     1 now ('' = Redis TIME), 2 run start (epoch s), 3 refundable (1/0), 4-7 the unused part
--          (requests, tokens, neurons, dollars), 8 ticket, 9 admitted at (run s), 10 windows,
--          11.. six arguments per window (a fixed window's p1: the period start it was charged in)
-- Reply    now, run s

local dest, state_key, inflight = KEYS[1], KEYS[2], KEYS[3]
local now = clock(ARGV[1], tonumber(ARGV[2]), dest)
local unused = {tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])}
local member = string.format('%015d', tonumber(ARGV[8]))
local admitted = tonumber(ARGV[9])
local windows = parse_windows(11, tonumber(ARGV[10]))

-- settled once: a settlement resent (after a timeout) or after its lease ended changes nothing
local lease_end = tonumber(redis.call('ZSCORE', inflight, member) or '-inf')
redis.call('ZREM', inflight, member)
local open = lease_end > now
if open and ARGV[3] == '1' then
  local state = load_state(state_key)
  local next_key = 4
  for j, w in ipairs(windows) do
    local log, amounts = nil, nil
    if w.kind == 'R' then
      log, amounts = KEYS[next_key], KEYS[next_key + 1]
      next_key = next_key + 2
    end
    local give = unused[w.measure]
    if give > 0 then
      if w.kind == 'R' then
        normalize(state, j, w, log, amounts, now)
        local charged = tonumber(redis.call('HGET', amounts, member))
        if admitted + w.p1 > now and charged then
          give = math.min(give, charged)
          redis.call('HSET', amounts, member, fmt(charged - give))
          state['u' .. j] = state['u' .. j] - give
        end
      elseif w.kind == 'F' then
        -- a period that ended is rolled by the next admission; only the charged period refunds
        local s, e = state['s' .. j], state['e' .. j]
        if s and s <= now and now < e and s == w.p1 then
          state['u' .. j] = math.max(0, state['u' .. j] - give)
        end
      else
        normalize(state, j, w, log, amounts, now)
        state['u' .. j] = math.min(w.limit, state['u' .. j] + give)
      end
    end
  end
  if (state.bm or 1) ~= 1 then
    state.bu = -INF  -- refunded tokens may make room (a request-count refusal stays)
  end
  save_state(state_key, state)
end
redis.call('HSET', dest, 'now', fmt(now))
return fmt(now)
