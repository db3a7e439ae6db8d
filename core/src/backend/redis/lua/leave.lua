-- KEYS: lock, fence, queue, beat, wait; ARGV: ticket, owner ('' if
-- unknown). If the entry is gone because the lock was handed to it
-- meanwhile, the handed lease is withdrawn and handed on (its fence is
-- never reissued).
local m = redis.call('ZRANGEBYSCORE', KEYS[3], ARGV[1], ARGV[1])
if #m > 0 then
  redis.call('ZREM', KEYS[3], m[1])
  redis.call('ZREM', KEYS[4], m[1])
  redis.call('HDEL', KEYS[5], ARGV[1])
  redis.call('PUBLISH', '@CHANNEL@', KEYS[1])
  return 1
end
local v = ARGV[2] ~= '' and redis.call('HGET', KEYS[1], ARGV[2])
if v then
  redis.call('HDEL', KEYS[1], ARGV[2])
  -- Its fence is not given back: a fence, once issued, is never issued
  -- again (the next holder's is higher; numbers may skip).
  -- @include now
  -- @include handoff
  return 2
end
return 0
