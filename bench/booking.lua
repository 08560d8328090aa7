-- wrk script for bench/booking.py.
--
--   wrk ... -s bench/booking.lua URL                       GET the URL, count the answers
--   wrk ... -s bench/booking.lua URL -- ROWS THREADS       POST one booking per row of ROWS
--
-- A row is "path<TAB>bearer token<TAB>client address<TAB>JSON body". Thread n of THREADS
-- takes rows n, n+THREADS, n+2*THREADS…, so no two requests book with the same row; a
-- thread that runs out starts again from its first row and says so ("wrapped").
-- The summary is one line, "RESULT key=value …", that bench/booking.py reads.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  ok, refused, failed, wrapped = 0, 0, 0, 0
  rows, index, loaded = {}, 0, 0
  if args[1] == nil then
    return
  end
  local every, n = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if n % every == id then
      local path, token, address, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      rows[#rows + 1] = wrk.format("POST", path, {
        ["Authorization"] = "Bearer " .. token,
        ["X-Real-IP"] = address,
        ["Content-Type"] = "application/json",
      }, body)
    end
    n = n + 1
  end
  loaded = #rows
end

function request()
  if #rows == 0 then
    return wrk.request()
  end
  index = index + 1
  if index > #rows then
    index, wrapped = 1, 1
  end
  return rows[index]
end

function response(status, headers, body)
  if status < 300 then
    ok = ok + 1
  elseif status < 500 then
    refused = refused + 1
  else
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local total = { ok = 0, refused = 0, failed = 0, wrapped = 0, index = 0, loaded = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(total) do
      total[key] = total[key] + thread:get(key)
    end
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d ok=%d refused=%d failed=%d "
      .. "wrapped=%d socket_errors=%d rows=%d used=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    total.ok, total.refused, total.failed, total.wrapped,
    e.connect + e.read + e.write + e.timeout, total.loaded, total.index
  ))
end
