-- wrk script for bench/web.py: counts non-2xx answers across threads and prints one JSON line.
-- With UNIQUE_PREFIX set (bench/web.py fills it in), every request asks for a new search term,
-- so every request misses the cache and reaches the fake Spotify.
local UNIQUE_PREFIX = "{{UNIQUE_PREFIX}}"

local threads = {}

function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  non2xx = 0
end

if UNIQUE_PREFIX ~= "" then
  function request()
    counter = counter + 1
    return wrk.format("GET", UNIQUE_PREFIX .. thread_no .. "x" .. counter)
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("non2xx")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"non2xx": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad, errors.connect, errors.read, errors.write, errors.timeout
  ))
end
