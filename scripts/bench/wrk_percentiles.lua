-- Prints one machine-readable line at the end of a wrk run: latency percentiles in microseconds.
done = function(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d errors=%d duration_us=%d p50=%d p95=%d p99=%d max=%d\n",
    summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status +
      summary.errors.timeout,
    summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
