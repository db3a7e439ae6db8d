-- KEYS: lock, fence; ARGV: owner, ttl ms, fence to raise the counter to.
-- Replies a positive number if the lease was live (now extended), else -1.
local v = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[3] ~= '' and tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[3])
end
if not v then return -1 end
local m, f, e, h = string.match(v, '^(%a)|(%d+)|(%d+)|(.*)$')
-- @include clock
local now = nil
if e ~= '0' then
  now = clock()
  if tonumber(e) <= now then
    redis.call('HDEL', KEYS[1], ARGV[1])
    return -1
  end
end
if redis.call('HLEN', KEYS[1]) == 1 then
  -- The hash's only lease: it leaves its expiry to the hash ('0').
  if e ~= '0' then redis.call('HSET', KEYS[1], ARGV[1], m .. '|' .. f .. '|0|' .. h) end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
-- Several leases (readers): each keeps its own expiry ('0' stands alone).
local exp = (now or clock()) + tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], m .. '|' .. f .. '|' .. exp .. '|' .. h)
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIREAT', KEYS[1], exp) end
return exp
