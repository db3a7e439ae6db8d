-- One server or a cluster. KEYS: lock, fence, queue, beat, wait; ARGV:
-- owner, notice channel, grant channel prefix. Replies 1 if the lease had
-- not expired.
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- @include handoff
if tonumber(string.match(v, '^%a|%d+|(%d+)|')) > now then return 1 end
return 0
