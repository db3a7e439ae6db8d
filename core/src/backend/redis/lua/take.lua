-- A first attempt (the caller holds no ticket). KEYS: lock, fence, queue,
-- beat, wait (and seq to join); ARGV: owner, mode, ttl, holder (and, for a
-- caller that will wait, 'new', queue entry life, provider id: then an
-- attempt that does not find the lock free and unqueued joins the queue, as
-- acquire.lua does, and its ticket is appended to the reply). Replies `{1,
-- fence}` (the lease expires with the hash, ttl from now: the caller knows
-- when), `{1, fence, expires}`, or `{0, ms until the soonest lease expires
-- (-1: none)}`.
if redis.call('EXISTS', KEYS[1], KEYS[3]) == 0 then
  -- Nobody holds it and nobody queues (the common case): the lease is the
  -- hash's only one and leaves its expiry to the hash, so no clock is read.
  local fence = redis.call('INCR', KEYS[2])
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. fence .. '|0|' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {1, fence}
end
-- @include now
-- @include expiry
local mode, ticket, joined = ARGV[2], '', nil
if ARGV[5] == 'new' then
  joined = redis.call('INCR', KEYS[6])
  ticket = tostring(joined)
end
-- @include attempt
