-- Store (or refresh) a response (capacity/policy/cache.py's ResponseCache.put, with payloads): it
-- lives ttl from now and becomes the most recently used; while more than max entries are held the
-- least recently used go (expired entries count until they are looked up or evicted, as in memory).
-- KEYS     as cache_get.lua
-- ARGV     1 now ('' = Redis TIME, epoch s), 2 key, 3 payload, 4 ttl s, 5 max entries, 6 key expiry ms
-- Reply    how many entries were evicted

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local key, ttl, most = ARGV[2], tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('HSET', KEYS[1], key, ARGV[3])
redis.call('HSET', KEYS[2], key, string.format('%.17g', now + ttl))
redis.call('ZADD', KEYS[3], redis.call('HINCRBY', KEYS[4], 'uses', 1), key)
local evicted = 0
local excess = redis.call('ZCARD', KEYS[3]) - most
while excess > 0 do
  local victims = redis.call('ZRANGE', KEYS[3], 0, math.min(excess, 1000) - 1)
  redis.call('ZREM', KEYS[3], unpack(victims))
  redis.call('HDEL', KEYS[1], unpack(victims))
  redis.call('HDEL', KEYS[2], unpack(victims))
  evicted = evicted + #victims
  excess = excess - #victims
end
-- an idle cache disappears once every entry has expired; until then it holds at most max entries
if ARGV[6] ~= '' then
  for k = 1, 4 do
    redis.call('PEXPIRE', KEYS[k], ARGV[6])
  end
end
return evicted
