-- Look up a response (capacity/policy/cache.py's ResponseCache.get, with payloads): a live entry is
-- a hit and becomes the most recently used; an expired one is removed; either else is a miss.
-- KEYS     1 payloads (hash), 2 expiry times (hash), 3 recency (sorted set: key -> use number),
--          4 meta (hash: the use counter)
-- ARGV     1 now ('' = Redis TIME, epoch s), 2 the entry's key
-- Reply    {1, payload} | {0}

local now
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[1])
end
local key = ARGV[2]
local expires = redis.call('HGET', KEYS[2], key)
if expires and now < tonumber(expires) then
  redis.call('ZADD', KEYS[3], redis.call('HINCRBY', KEYS[4], 'uses', 1), key)
  return {1, redis.call('HGET', KEYS[1], key)}
end
if expires then
  redis.call('HDEL', KEYS[1], key)
  redis.call('HDEL', KEYS[2], key)
  redis.call('ZREM', KEYS[3], key)
end
return {0}
