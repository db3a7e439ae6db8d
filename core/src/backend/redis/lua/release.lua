-- One server or a cluster. KEYS: lock, fence, queue, beat, wait; ARGV:
-- owner. Replies 1 if the lease had not expired.
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
-- '0': the hash's only lease, live while the hash was (no clock needed).
local e = tonumber(string.match(v, '^%a|%d+|(%d+)|'))
if e ~= 0 or redis.call('EXISTS', KEYS[3]) == 1 then
  -- @include now
  -- @include handoff
  if e ~= 0 and e <= now then return 0 end
end
return 1
