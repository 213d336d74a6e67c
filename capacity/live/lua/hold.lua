-- Hold a destination (capacity/live/redis_holds.py's SharedHolds.publish): nothing may be sent to it
-- before the hold's end, run seconds on the clock every router reads here.  A hold is only lengthened.
-- KEYS     1 the destination's hold (a string: the run time it ends, s)
-- ARGV     1 now ('' = Redis TIME − ARGV 2, run s), 2 the run's start (epoch s), 3 the hold's length
--          from now (run s), 4 the key's life (ms: the length taken as wall time, plus a second)
-- Reply    the hold's end now in force (run s, as text)

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000 - tonumber(ARGV[2])
else
  now = tonumber(ARGV[1])
end
local ends = now + tonumber(ARGV[3])
local old = redis.call('GET', KEYS[1])
if old and tonumber(old) >= ends then
  return old
end
local text = string.format('%.17g', ends)
redis.call('SET', KEYS[1], text, 'PX', ARGV[4])
return text
