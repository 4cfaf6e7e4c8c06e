-- 16 requests per write on each connection (HTTP/1.1 pipelining). wrk parses this request
-- string once, sees 16 requests in it, and counts every response: one "request" in its totals
-- is one response. Its latency is recorded once per batch of 16.
-- Usage: wrk -s pipeline.lua URL [-- DEPTH]
local depth = 16
local req

init = function(args)
    if args[1] then depth = tonumber(args[1]) end
    local r = {}
    for i = 1, depth do
        r[i] = wrk.format(nil, wrk.path)
    end
    req = table.concat(r)
end

request = function()
    return req
end
