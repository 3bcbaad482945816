-- wrk script for benchmarks/webhook.py: replay pre-signed raw requests, each at most once.
-- The request file (env AMIP_BENCH_REQUESTS) holds raw HTTP requests separated by NUL bytes;
-- thread k of n sends requests k, k+n, k+2n, ... so no MessageSid is sent twice. A thread
-- that runs out starts over (counted as "wrapped": those are duplicates, not new messages).

local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(args[1])
  local f = assert(io.open(os.getenv("AMIP_BENCH_REQUESTS"), "rb"))
  local data = f:read("*a")
  f:close()
  reqs = {}
  local i = 0
  for r in string.gmatch(data, "([^%z]+)") do
    if i % nthreads == tid then
      reqs[#reqs + 1] = r
    end
    i = i + 1
  end
  idx = 0
  wrapped = 0
end

function request()
  idx = idx + 1
  if idx > #reqs then
    idx = 1
    wrapped = wrapped + 1
  end
  return reqs[idx]
end

function done(summary, latency, requests)
  local wraps = 0
  for _, t in ipairs(threads) do
    wraps = wraps + t:get("wrapped")
  end
  local e = summary.errors
  io.write(string.format(
    '{"completed":%d,"elapsed_s":%.3f,"non200":%d,"errors":%d,"p50_ms":%.2f,"p90_ms":%.2f,'
    .. '"p99_ms":%.2f,"max_ms":%.2f,"wrapped":%d}\n',
    summary.requests, summary.duration / 1e6, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, wraps))
end
