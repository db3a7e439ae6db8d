-- The server's time in unix ms, as `now` (included where a script needs it).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
