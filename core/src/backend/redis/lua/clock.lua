-- `clock()`: the server's time in unix ms (included where a script may
-- need it; now.lua reads it once for scripts that always do).
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
