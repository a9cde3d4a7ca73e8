#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Cost of one refresh of N workloads (1,000 by default) through the prometheus source,
against the test harness' real Prometheus (tests/integration/prometheus): the TSDB holds only
the windows a seasonal forecast reads (three weekly seasons of 1-minute samples around now, per
workload). N GetMetrics calls for N cold workloads start every fetch at once; the figures are
Prometheus' own counters (queries, response bytes), the wall time until the last answer, and
the daemon's CPU time from /proc. Figures, not assertions.

    bench/prometheus.py [--build build] [--workloads 1000] [--max-points 11000]
"""
import argparse
import concurrent.futures
import os
import shutil
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(here)
sys.path.insert(0, os.path.join(root, "tests", "integration", "prometheus"))

ap = argparse.ArgumentParser()
ap.add_argument("--build", default=os.path.join(root, "build"))
ap.add_argument("--workloads", type=int, default=1000)
ap.add_argument("--max-points", type=int, default=11000)
ap.add_argument("--combine", default="median")
args = ap.parse_args()

work = tempfile.mkdtemp(prefix="kd-bench-prom-")
os.environ.setdefault("KD_BINARY", os.path.join(args.build, "src", "kedastral-scaler"))
os.environ.setdefault("KD_PLUGIN_DIR", os.path.join(args.build, "plugins"))
os.environ.setdefault("KD_PROTO_DIR", os.path.join(root, "proto"))
os.environ["KD_WORK"] = work
sys.path.insert(0, os.path.join(root, "tests", "integration"))

import prometheus as P  # noqa: E402
from daemon import Daemon  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 // HZ  # utime + stime


def counter(text, name, handler):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and f'handler="{handler}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def prom_figures(prom):
    _, text = prom.get("/metrics")
    h = "/api/v1/query_range"
    cpu = sum(float(line.split()[1]) for line in text.splitlines()
              if line.startswith("process_cpu_seconds_total "))
    return (counter(text, "prometheus_http_requests_total", h),
            counter(text, "prometheus_http_response_size_bytes_sum", h), cpu)


t0 = int(time.time()) // 60 * 60
names = [f"w{i:04d}" for i in range(args.workloads)]
om = os.path.join(work, "history.om")
t = time.monotonic()
with open(om, "w") as f:
    f.write(f"# TYPE {P.METRIC} gauge\n")
    for i, w in enumerate(names):
        for k in (3, 2, 1):
            lo = t0 - k * P.WEEK - 10 * P.MIN
            for ts in range(lo, lo + 2 * P.HOUR, P.MIN):
                f.write(f'{P.METRIC}{{workload="{w}"}} {P.shape(ts + 60 * i, 300, 150, 0.1)} {ts}\n')
    f.write("# EOF\n")
prom = P.Prometheus(os.path.join(work, "prometheus"), openmetrics=om)
print(f"history: {args.workloads} workloads x 3 seasons x 120 samples, backfilled and served "
      f"in {time.monotonic() - t:.1f} s")

conf = f"""
log_level = "info";
sources = ( {{ name = "fc"; plugin = "prometheus"; url = "{prom.url}";
              query = "kd_rps{{workload=\\"$workload\\"}}"; per_replica = 100.0;
              combine = "{args.combine}"; max_points = {args.max_points};
              refresh = "1h"; timeout = "60s"; }} );
policies = ( {{ name = "p"; plugin = "max"; lead_time = "5m"; }} );
workloads = ( {{ match = "*"; source = "fc"; policy = "p"; }} );
"""
try:
    d = Daemon(conf, name="bench-prom")
except BaseException:
    prom.stop()
    raise
try:
    q0, b0, pc0 = prom_figures(prom)
    c0 = cpu_ms(d.proc.pid)
    w0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        results = list(pool.map(
            lambda w: d.get_metrics(d.ref("so", workload=w), "m", timeout=120)
            .metricValues[0].metricValue, names))
    wall = time.monotonic() - w0
    c1 = cpu_ms(d.proc.pid)
    q1, b1, pc1 = prom_figures(prom)
    ok = sum(1 for r in results if r > 0)
    print(f"one refresh of {args.workloads} workloads (seasonal {args.combine}, 3 x 1w, 60 steps "
          f"of 1m, max_points {args.max_points}):")
    print(f"  answers          {ok}/{args.workloads} GetMetrics with a value > 0")
    print(f"  queries          {int(q1 - q0)} query_range requests "
          f"({(q1 - q0) / args.workloads:.1f} per workload)")
    print(f"  bytes            {int(b1 - b0)} response bytes from Prometheus "
          f"({(b1 - b0) / args.workloads:.0f} per workload)")
    print(f"  wall time        {wall * 1000:.0f} ms from the first call to the last answer")
    print(f"  daemon CPU       {c1 - c0} ms (user + system, /proc/<pid>/stat; includes serving "
          f"the {args.workloads} gRPC calls)")
    print(f"  Prometheus CPU   {(pc1 - pc0) * 1000:.0f} ms (process_cpu_seconds_total)")
    # The same calls again, answered from the cache: what serving them costs without a refresh.
    c2 = cpu_ms(d.proc.pid)
    w2 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(lambda w: d.get_metrics(d.ref("so", workload=w), "m", timeout=120), names))
    print(f"  warm pass        {round((time.monotonic() - w2) * 1000)}"
          f" ms, daemon CPU {cpu_ms(d.proc.pid) - c2} ms for the same {args.workloads} calls "
          f"from the cache (no query sent: {int(prom_figures(prom)[0] - q1)})")
finally:
    d.stop()
    prom.stop()
    shutil.rmtree(work, ignore_errors=True)
