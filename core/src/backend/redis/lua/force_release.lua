-- KEYS: lock; ARGV: channel. Returns whether anybody held it.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local live = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 2, #fields, 2 do
  if tonumber(string.match(fields[i], '^%a|%d+|(%d+)|')) > now then live = 1 end
end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], KEYS[1])
return live
