-- A quorum (no queue there): KEYS: lock, fence; ARGV: owner, channel, fence
-- to raise the counter to ('' for none).
local v = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[3] ~= '' and tonumber(redis.call('GET', KEYS[2]) or '0') < tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[3])
end
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = tonumber(string.match(v, '^%a|%d+|(%d+)|'))
if e > now then return 1 end
return 0
