-- A queued waiter's attempt, which is also its heartbeat. KEYS: lock,
-- fence, queue, beat, wait; ARGV: owner, mode, ttl, holder, ticket, queue
-- entry life, provider id. Replies `{1, fence, expires}` or `{0, ms until
-- the soonest lease expires (-1: none)}`. (A first attempt, without a
-- ticket, is take.lua, which joins the queue for a caller that will wait.)
-- @include now
-- @include expiry
local mode, ticket, joined = ARGV[2], ARGV[5], nil
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
-- @include attempt
