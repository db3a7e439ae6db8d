-- KEYS: lock, fence; ARGV: owner, ttl ms, fence to raise the counter to.
local v = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[3] ~= '' and tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[3])
end
if not v then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local m, f, e, h = string.match(v, '^(%a)|(%d+)|(%d+)|(.*)$')
if tonumber(e) <= now then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return -1
end
local exp = now + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], m .. '|' .. f .. '|' .. exp .. '|' .. h)
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[1], exp) end
return exp
