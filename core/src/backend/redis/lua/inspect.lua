-- KEYS: lock. Returns the server time, then the hash's fields and values.
local t = redis.call('TIME')
local r = redis.call('HGETALL', KEYS[1])
table.insert(r, 1, tostring(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)))
return r
