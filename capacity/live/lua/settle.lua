-- Settle one admission after its response: refund what was reserved but not used, free its slot.
-- The semantics are capacity/policy/ledger.py's AccountQuota.settle: each window whose measure has
-- an unused part (> 0) gives it back if it still counts the charge (a rolling entry still in its
-- window, the same fixed period, any bucket, never above its limit); a refund clears a cached
-- refusal unless that refusal counted requests.  Nothing is refunded where the provider charges
-- the maximum output up front.  An admission settles once: a settlement resent, or arriving after
-- the admission's lease ended (its slot already freed), changes nothing.
--
-- KEYS[1]  destination hash; KEYS[2] the account's state hash; KEYS[3] its open admissions;
--          then the log of each rolling window
-- ARGV     1 now ('' = Redis TIME), 2 run start (epoch s), 3 refundable (1/0), 4-9 the charge
--          reserved (requests, tokens, neurons, dollars, input tokens, output tokens), 10-15 its
--          unused part, 16 ticket, 17 admitted at (run s), 18 windows, 19.. six arguments per
--          window (a fixed window's p1: the period start it was charged in)
-- Reply    now, run s

local dest, state_key, open = KEYS[1], KEYS[2], KEYS[3]
local now = clock(ARGV[1], tonumber(ARGV[2]), dest)
local reserved, unused = {}, {}
for m = 1, MEASURES do
  reserved[m] = tonumber(ARGV[3 + m])
  unused[m] = tonumber(ARGV[3 + MEASURES + m])
end
local ticket = tonumber(ARGV[4 + 2 * MEASURES])
local admitted = tonumber(ARGV[5 + 2 * MEASURES])
local windows = parse_windows(7 + 2 * MEASURES, tonumber(ARGV[6 + 2 * MEASURES]))

local member = string.format('%015d', ticket)
local lease_end = tonumber(redis.call('ZSCORE', open, member) or '-inf')
redis.call('ZREM', open, member)
if lease_end > now and ARGV[3] == '1' then
  local state, loaded = load_state(state_key)
  local next_log = 4
  for j, w in ipairs(windows) do
    local log = nil
    if w.kind == 'R' then
      log, next_log = KEYS[next_log], next_log + 1
    end
    local give = unused[w.measure]
    if give > 0 then
      if w.kind == 'R' then
        normalize(state, j, w, log, now)
        local charged = reserved[w.measure]
        local old = entry(ticket, charged)
        local score = redis.call('ZSCORE', log, old)
        if score and admitted + w.p1 > now then
          give = math.min(give, charged)
          redis.call('ZREM', log, old)
          redis.call('ZADD', log, score, entry(ticket, charged - give))
          state['u' .. j] = state['u' .. j] - give
        end
      elseif w.kind == 'F' then
        -- a period that ended is rolled by the next admission; only the charged period refunds
        local s, e = state['s' .. j], state['e' .. j]
        if s and s <= now and now < e and s == w.p1 then
          state['u' .. j] = math.max(0, state['u' .. j] - give)
        end
      else
        normalize(state, j, w, log, now)
        state['u' .. j] = math.min(w.limit, state['u' .. j] + give)
      end
    end
  end
  if (state.bm or 1) ~= 1 then
    state.bu = -INF  -- refunded tokens may make room (a request-count refusal stays)
  end
  save_state(state_key, state, loaded)
end
redis.call('HSET', dest, 'now', fmt(now))
return fmt(now)
