-- `expiry(field, value)`: a lease's mode and expiry (unix ms). A lease
-- written as the hash's only one may leave its expiry to the hash's ('0':
-- the uncontended acquire and refresh need no clock then); it is given its
-- own here, before another lease can join it. Needs `now`.
local function expiry(field, v)
  local m, f, e, h = string.match(v, '^(%a)|(%d+)|(%d+)|(.*)$')
  e = tonumber(e)
  if e == 0 then
    -- At least 1 ms ahead: Redis keeps a key through the ms its expiry
    -- names (PTTL 0 then), and a lease is live while e > now.
    e = now + math.max(redis.call('PTTL', KEYS[1]), 1)
    redis.call('HSET', KEYS[1], field, m .. '|' .. f .. '|' .. e .. '|' .. h)
  end
  return m, e
end
