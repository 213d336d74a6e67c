-- Read every destination's hold (capacity/live/redis_holds.py's SharedHolds.sync), changing nothing.
-- KEYS     the destinations' holds, in order
-- ARGV     1 now ('' = Redis TIME − ARGV 2, run s), 2 the run's start (epoch s)
-- Reply    {now, end 1, ..., end n} as text (run s; '' where a destination is not held)

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000 - tonumber(ARGV[2])
else
  now = tonumber(ARGV[1])
end
local reply = {string.format('%.17g', now)}
for i = 1, #KEYS do
  reply[i + 1] = redis.call('GET', KEYS[i]) or ''
end
return reply
