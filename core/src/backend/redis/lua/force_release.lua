-- KEYS: lock. Returns whether anybody held it.
-- @include now
local live = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 2, #fields, 2 do
  -- '0': the hash's only lease, live while the hash is.
  local e = tonumber(string.match(fields[i], '^%a|%d+|(%d+)|'))
  if e == 0 or e > now then live = 1 end
end
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', '@CHANNEL@', KEYS[1])
return live
