-- wrk script for bench/dashboard.py: GET the paths of a file, one a line, in turn.
--
--   wrk ... -s bench/dashboard.lua URL -- PATHS THREADS
--
-- Thread n of THREADS takes lines n, n+THREADS, n+2*THREADS…; a thread that runs out starts
-- again from its first line and says so ("wrapped": a round meant to ask each path once
-- asked some twice). Every request asks for English (Accept-Language) and comes from its own
-- client address (X-Real-IP, which the bench's server takes as a proxy's). No response()
-- callback: that would make wrk copy every body into Lua; wrk counts statuses of 400 and up
-- as errors itself. The summary is one line, "RESULT key=value …", that the bench reads.

local threads, counter = {}, 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  paths, index, wrapped, sent = {}, 0, 0, 0
  local every, n = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if n % every == id then
      paths[#paths + 1] = line
    end
    n = n + 1
  end
end

function request()
  index = index + 1
  if index > #paths then
    index, wrapped = 1, 1
  end
  sent = sent + 1
  local address = string.format("10.%d.%d.%d", 100 + id, math.floor(sent / 256) % 256, sent % 256)
  return wrk.format("GET", paths[index], {
    ["Accept-Language"] = "en",
    ["X-Real-IP"] = address,
  })
end

function done(summary, latency, requests)
  local wraps = 0
  for _, thread in ipairs(threads) do
    wraps = wraps + thread:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p95_us=%d p99_us=%d failed=%d wrapped=%d "
      .. "socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), e.status, wraps, e.connect + e.read + e.write + e.timeout
  ))
end
