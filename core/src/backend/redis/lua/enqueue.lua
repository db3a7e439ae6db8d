-- KEYS: queue, beat, sequence; ARGV: mode, life ms.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ticket = redis.call('INCR', KEYS[3])
local member = ticket .. ':' .. ARGV[1]
redis.call('ZADD', KEYS[1], ticket, member)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), member)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) * 2)
return ticket
