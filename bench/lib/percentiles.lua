-- wrk script: at the end prints one line "BENCH {json}" with the request count, errors and
-- latency percentiles in microseconds (wrk's --latency stops at p99; the chart needs more).
local points = {1, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99}

done = function(summary, latency, requests)
  local e = summary.errors
  local pct = {}
  for _, p in ipairs(points) do
    pct[#pct + 1] = string.format('"%g":%d', p, latency:percentile(p))
  end
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"min":%d,"max":%d,"mean":%.2f,"pct":{%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.max, latency.mean, table.concat(pct, ",")))
end
