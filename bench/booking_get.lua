-- wrk script for bench/booking.py's GETs: each request from its own client address (as
-- X-Real-IP, which the bench server trusts like a proxy's), so that per-address rate limits
-- count as they would for many citizens. It prints the same "RESULT" line as booking.lua.
-- No response() callback: that would make wrk copy every response body into Lua.

local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  sent = 0
end

function request()
  sent = sent + 1
  local address = string.format("10.%d.%d.%d", 100 + id, math.floor(sent / 256) % 256, sent % 256)
  return wrk.format(nil, nil, { ["X-Real-IP"] = address })
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d ok=%d refused=0 failed=%d "
      .. "wrapped=0 socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.requests - e.status, e.status, e.connect + e.read + e.write + e.timeout
  ))
end
