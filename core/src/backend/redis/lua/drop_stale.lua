-- Drops the queue entries whose heartbeat is older than their life, with
-- their details (included by acquire.lua and handoff.lua; needs `now`).
  local stale = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now)
  if #stale > 0 then
    redis.call('ZREM', KEYS[3], unpack(stale))
    redis.call('ZREM', KEYS[4], unpack(stale))
    for _, m in ipairs(stale) do redis.call('HDEL', KEYS[5], string.match(m, '^(%d+):')) end
  end
