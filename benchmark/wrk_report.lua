-- wrk script for the benchmark: the request to send, and one JSON line with the results.
--
-- BENCH_BODY_FILE set: POST its exact bytes as application/json (wrk adds Content-Length).
-- Unset: GET. wrk's own headers (Host) are kept, so every contender gets the same bytes.
-- No response() callback: it would make wrk parse every response in Lua and cost
-- client CPU; each contender's answers are checked once before any load instead.

local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
   local f = assert(io.open(body_file, "rb"))
   wrk.method = "POST"
   wrk.body = f:read("*a")
   f:close()
   wrk.headers["Content-Type"] = "application/json"
end

-- Latencies in microseconds, counts as integers; run.py reads the line after the marker.
function done(summary, latency, requests)
   local e = summary.errors
   local percentiles = {}
   for _, p in ipairs({50, 75, 90, 95, 99, 99.9}) do
      percentiles[#percentiles + 1] = string.format('"%s": %d', p, latency:percentile(p))
   end
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"mean": %.1f, "stdev": %.1f, "min": %d, "max": %d, '
      .. '"percentiles": {%s}}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean, latency.stdev, latency.min, latency.max,
      table.concat(percentiles, ", ")))
end
