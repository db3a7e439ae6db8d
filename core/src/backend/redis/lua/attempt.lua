-- The attempt proper (included by take.lua and acquire.lua): needs `now`,
-- `expiry`, `mode`, `ticket` ('' for none) and `joined`; ARGV[6], ARGV[7]
-- only with a ticket.
local held_x, held_s, soonest, latest = false, false, nil, 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local m, e = expiry(fields[i], fields[i + 1])
  if e <= now then
    redis.call('HDEL', KEYS[1], fields[i])
  else
    if m == 'x' then held_x = true else held_s = true end
    if soonest == nil or e < soonest then soonest = e end
    if e > latest then latest = e end
  end
end
-- Held against this mode: busy whatever the queue holds, so skip it.
local free = not held_x and (mode == 's' or not held_s)
local queued = free and redis.call('EXISTS', KEYS[3]) == 1
if queued then
  -- @include drop_stale
end
local member = nil
if ticket ~= '' then
  member = ticket .. ':' .. mode
  local life = tonumber(ARGV[6])
  redis.call('ZADD', KEYS[3], tonumber(ticket), member)
  redis.call('ZADD', KEYS[4], now + life, member)
  redis.call('HSET', KEYS[5], ticket, ARGV[1] .. '|' .. ARGV[3] .. '|' .. ARGV[7] .. '|' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[3], life * 2)
  redis.call('PEXPIRE', KEYS[4], life * 2)
  redis.call('PEXPIRE', KEYS[5], life * 2)
  queued = true
end
local ahead_x, ahead_any = false, false
if free and queued then
  local upto = '+inf'
  if ticket ~= '' then upto = '(' .. ticket end
  if mode == 'x' then
    ahead_any = redis.call('ZCOUNT', KEYS[3], '-inf', upto) > 0
  else
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', upto)) do
      ahead_any = true
      if string.sub(m, -1) == 'x' then ahead_x = true break end
    end
  end
end
local grant
if mode == 'x' then
  grant = free and not ahead_any
else
  grant = free and not ahead_x
end
if not grant then
  if soonest == nil then soonest = now - 1 end
  return {0, soonest - now, joined}
end
local fence = redis.call('INCR', KEYS[2])
local exp = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], mode .. '|' .. fence .. '|' .. exp .. '|' .. ARGV[4])
if exp > latest then redis.call('PEXPIREAT', KEYS[1], exp) end
if member then
  redis.call('ZREM', KEYS[3], member)
  redis.call('ZREM', KEYS[4], member)
  redis.call('HDEL', KEYS[5], ticket)
end
return {1, fence, exp, joined}
