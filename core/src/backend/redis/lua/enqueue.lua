-- KEYS: queue, beat, sequence; ARGV: mode, life ms.
-- @include now
local ticket = redis.call('INCR', KEYS[3])
local member = ticket .. ':' .. ARGV[1]
redis.call('ZADD', KEYS[1], ticket, member)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), member)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) * 2)
return ticket
