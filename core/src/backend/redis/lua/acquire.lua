-- A waiter's attempt. KEYS: lock, fence, queue, beat, wait, seq; ARGV:
-- owner, mode, ttl, holder, ticket ('new' to join the queue now), queue
-- entry life, provider id. Replies `{1, fence, expires}` or `{0, ms until
-- the soonest lease expires (-1: none)}`, with the new ticket appended when
-- ARGV[5] is 'new'. (A first attempt, without a ticket, is take.lua.)
-- @include now
-- @include expiry
local mode, ticket = ARGV[2], ARGV[5]
local joined = nil
if ticket == 'new' then
  joined = redis.call('INCR', KEYS[6])
  ticket = tostring(joined)
else
  local mine = redis.call('HGET', KEYS[1], ARGV[1])
  if mine then
    local _, e = expiry(ARGV[1], mine)
    if e > now then
      local f = string.match(mine, '^%a|(%d+)|')
      local member = ticket .. ':' .. mode
      redis.call('ZREM', KEYS[3], member)
      redis.call('ZREM', KEYS[4], member)
      redis.call('HDEL', KEYS[5], ticket)
      return {1, tonumber(f), tonumber(e)}
    end
  end
end
-- @include attempt
