-- The server's time in unix ms, as `now` (included where a script needs it).
-- @include clock
local now = clock()
