-- A waiter's attempt. KEYS: lock, fence, queue, beat, wait, seq; ARGV:
-- owner, mode, ttl, holder, ticket ('new' to join the queue now), queue
-- entry life, provider id. Replies `{1, fence, expires}` or `{0, ms until
-- the soonest lease expires (-1: none)}`, with the new ticket appended when
-- ARGV[5] is 'new'. (A first attempt, without a ticket, is take.lua.)
-- @include now
local mode, ticket = ARGV[2], ARGV[5]
local joined = nil
if ticket == 'new' then
  joined = redis.call('INCR', KEYS[6])
  ticket = tostring(joined)
else
  local mine = redis.call('HGET', KEYS[1], ARGV[1])
  if mine then
    local f, e = string.match(mine, '^%a|(%d+)|(%d+)|')
    -- '0': the hash's only lease, live while the hash is.
    if e == '0' then e = now + math.max(redis.call('PTTL', KEYS[1]), 0) end
    if tonumber(e) > now then
      local member = ticket .. ':' .. mode
      redis.call('ZREM', KEYS[3], member)
      redis.call('ZREM', KEYS[4], member)
      redis.call('HDEL', KEYS[5], ticket)
      return {1, tonumber(f), tonumber(e)}
    end
  end
end
-- @include attempt
