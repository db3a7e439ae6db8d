-- A quorum (no queue there): KEYS: lock, fence; ARGV: owner, fence to
-- raise the counter to ('' for none). Replies 1 if the lease had not expired.
local v = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], ARGV[2])
end
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', '@CHANNEL@', KEYS[1])
-- '0': the hash's only lease, live while the hash was.
local e = tonumber(string.match(v, '^%a|%d+|(%d+)|'))
if e == 0 then return 1 end
-- @include now
if e > now then return 1 end
return 0
