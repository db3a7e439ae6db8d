-- The lock was just given up (a release, or a handed lease left unused):
-- if anybody queues, hand the lock straight to the head of the queue (an
-- exclusive waiter, or every shared waiter at the head) by writing their
-- lease and telling their provider on its own channel; else, if waiters
-- queue but cannot take it, publish a plain notice. Nobody queued: no
-- message at all. KEYS: lock, fence, queue, beat, wait; needs `now`.
if redis.call('EXISTS', KEYS[3]) == 1 then
  -- @include expiry
  local held_x, held_s, handed = false, false, false
  local fields = redis.call('HGETALL', KEYS[1])
  for i = 1, #fields, 2 do
    local m, e = expiry(fields[i], fields[i + 1])
    if e > now then
      if m == 'x' then held_x = true else held_s = true end
    end
  end
  if not held_x then
    -- @include drop_stale
    for _, m in ipairs(redis.call('ZRANGE', KEYS[3], 0, 31)) do
      local ticket, mode = string.match(m, '^(%d+):(%a)$')
      if mode == 'x' and (held_s or handed) then break end
      local d = redis.call('HGET', KEYS[5], ticket)
      if not d then break end
      local owner, ttl, provider, holder = string.match(d, '^(%x+)|(%d+)|(%w+)|(.*)$')
      local fence = redis.call('INCR', KEYS[2])
      local exp = now + tonumber(ttl)
      redis.call('HSET', KEYS[1], owner, mode .. '|' .. fence .. '|' .. exp .. '|' .. holder)
      if redis.call('PTTL', KEYS[1]) < tonumber(ttl) then redis.call('PEXPIREAT', KEYS[1], exp) end
      redis.call('ZREM', KEYS[3], m)
      redis.call('ZREM', KEYS[4], m)
      redis.call('HDEL', KEYS[5], ticket)
      redis.call('PUBLISH', '@GRANT_PREFIX@' .. provider, KEYS[1] .. '\n' .. owner .. '|' .. fence .. '|' .. exp)
      handed = true
      if mode == 'x' then break end
    end
  end
  if not handed then redis.call('PUBLISH', '@CHANNEL@', KEYS[1]) end
end
