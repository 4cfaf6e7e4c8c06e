-- POST /echo with a 4 KiB body (wrk adds Content-Length); the server sends it back.
-- Usage: wrk -s post_echo.lua http://HOST:PORT/echo [-- SIZE]
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.body = string.rep("0123456789abcdef", 256)

init = function(args)
    if args[1] then
        local size = tonumber(args[1])
        wrk.body = string.rep("x", size)
    end
end
