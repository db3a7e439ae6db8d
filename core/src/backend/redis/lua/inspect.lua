-- KEYS: lock. Returns the server time, then the hash's fields and values,
-- each lease with its own expiry (one written as '0' expires with the hash).
-- @include now
local r = redis.call('HGETALL', KEYS[1])
for i = 2, #r, 2 do
  local m, f, e, h = string.match(r[i], '^(%a)|(%d+)|(%d+)|(.*)$')
  if e == '0' then
    -- At least 1 ms ahead: Redis keeps a key through the ms its expiry
    -- names (PTTL 0 then), and a lease is live while its expiry > now.
    r[i] = m .. '|' .. f .. '|' .. (now + math.max(redis.call('PTTL', KEYS[1]), 1)) .. '|' .. h
  end
end
table.insert(r, 1, tostring(now))
return r
