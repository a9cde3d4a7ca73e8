# SPDX-License-Identifier: Apache-2.0
"""A real Prometheus server for tests: synthetic history written as OpenMetrics, backfilled
with `promtool tsdb create-blocks-from openmetrics`, served on a free loopback port from the
test's own data directory. Also the reference model: what Prometheus answers at a time, and
the forecasts the prometheus source must produce, computed here from the synthetic samples
alone (never by calling the daemon's code)."""
import bisect
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

MIN = 60
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
LOOKBACK = 300  # Prometheus' default --query.lookback-delta (5m)
METRIC = "kd_rps"
ESCAPED_NAME = 'a"b\\c'  # the workload whose name must not break out of the PromQL literal


# ---- Synthetic history ------------------------------------------------------------------------

def shape(t, base, amp, week_gain):
    """Daily sine plus a weekday/weekend step, growing week over week, so that the median, the
    max and the mean of past seasons all differ."""
    day = (t % DAY) / DAY
    weekday = (t // DAY) % 7
    weekend = 0.6 if weekday in (2, 3) else 1.0  # 1970-01-01 was a Thursday: days 2, 3 = Sat, Sun
    weeks = (t // WEEK) % 5
    return round((base + amp * math.sin(2 * math.pi * day)) * weekend * (1 + week_gain * weeks) +
                 3 * ((t // MIN) % 7), 3)


def synth(t0, days=22):
    """{(workload, extra labels): [(unix seconds, value), ...]} at one-minute steps, ending at
    t0 (a whole minute). Gaps are placed relative to t0 so that they fall inside the seasons a
    forecast made near t0 reads."""
    start = t0 - days * DAY
    times = list(range(start, t0 + 1, MIN))
    out = {}

    def gap(ts, lo, hi):
        return lo <= ts < hi

    # Weekly shape, a 40-minute gap one week back and a 25-minute one two weeks back.
    out[("api", ())] = [(t, shape(t, 400, 200, 0.15)) for t in times
                        if not gap(t, t0 - WEEK + 10 * MIN, t0 - WEEK + 50 * MIN)
                        and not gap(t, t0 - 2 * WEEK + 30 * MIN, t0 - 2 * WEEK + 55 * MIN)]
    out[("web", ())] = [(t, shape(t + 7 * HOUR, 90, 60, -0.1)) for t in times]
    out[(ESCAPED_NAME, ())] = [(t, shape(t, 250, 50, 0.0)) for t in times]
    # The same 30 minutes missing in every season (+ the 5-minute lookback): a forecast made
    # near t0 has steps that no season covers.
    out[("holes", ())] = [(t, 50.0) for t in times
                          if not any(gap(t, t0 - k * WEEK + 20 * MIN, t0 - k * WEEK + 50 * MIN)
                                     for k in (1, 2, 3))]
    # A ramp over the last day: the linear model's case (slope 0.5 per minute).
    out[("ramp", ())] = [(t, round(20 + 0.5 * (t - (t0 - DAY)) / MIN, 3)) for t in times
                         if t >= t0 - DAY]
    # Two series for one workload: a query that does not aggregate returns both.
    out[("pods", (("pod", "p-1"),))] = [(t, 10.0) for t in times if t >= t0 - 8 * DAY]
    out[("pods", (("pod", "p-2"),))] = [(t, 20.0) for t in times if t >= t0 - 8 * DAY]
    return out


def om_escape(v):
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def write_openmetrics(path, series):
    with open(path, "w") as f:
        f.write(f"# HELP {METRIC} Synthetic requests per second.\n# TYPE {METRIC} gauge\n")
        for (workload, extra), samples in series.items():
            labels = ",".join(f'{k}="{om_escape(v)}"'
                              for k, v in (("workload", workload),) + tuple(extra))
            for t, v in samples:
                f.write(f"{METRIC}{{{labels}}} {v!r} {t}\n")
        f.write("# EOF\n")


# ---- The reference model ------------------------------------------------------------------------

class Reference:
    """What Prometheus answers for `kd_rps{workload="w"}` at a time: the newest sample at most
    LOOKBACK seconds old (2.x: the window [t - 5m, t] is closed), else nothing."""

    def __init__(self, series):
        self.by_workload = {}
        for (workload, extra), samples in series.items():
            if not extra:
                self.by_workload[workload] = ([t for t, _ in samples], [v for _, v in samples])

    def at(self, workload, t):
        times, values = self.by_workload[workload]
        i = bisect.bisect_right(times, t) - 1
        if i < 0 or times[i] < t - LOOKBACK:
            return None
        return values[i]

    def seasonal(self, workload, now, step, horizon, season, seasons, combine):
        out = []
        for i in range(1, horizon // step + 1):
            seen = [v for v in (self.at(workload, now + i * step - k * season)
                                for k in range(1, seasons + 1)) if v is not None]
            if not seen:
                raise LookupError(f"no season at step {i}")
            n = len(seen)
            mean = sum(seen) / n  # k = 1, 2, ... in order, as the plugin adds them
            seen.sort()
            if combine == "max":
                out.append(seen[-1])
            elif combine == "mean":
                out.append(mean)
            else:
                out.append(seen[n // 2] if n % 2 else (seen[n // 2 - 1] + seen[n // 2]) / 2)
        return out

    def linear(self, workload, now, step, horizon, window):
        pts = [(now - window + j * step - now, self.at(workload, now - window + j * step))
               for j in range(window // step + 1)]
        pts = [(x, y) for x, y in pts if y is not None]
        mx = sum(x for x, _ in pts) / len(pts)
        my = sum(y for _, y in pts) / len(pts)
        slope = (sum((x - mx) * (y - my) for x, y in pts) /
                 sum((x - mx) ** 2 for x, _ in pts))
        intercept = my - slope * mx
        return [intercept + slope * i * step for i in range(1, horizon // step + 1)]


def replicas(value, per_replica):
    """ceil(value / per_replica), never below 0; a quotient within 1e-9 (relative) above an
    integer is that integer."""
    if value != value or value <= 0:
        return 0
    q = value / per_replica
    down = math.floor(q)
    return down if q - down <= 1e-9 * max(q, 1) else down + 1


# ---- The server ----------------------------------------------------------------------------------

def _die_with_parent():
    """preexec_fn: the server gets SIGTERM when the test process dies, even if it is killed
    (a ctest timeout), so no Prometheus outlives its test."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """`prometheus` on 127.0.0.1:<free port> over `data_dir`, with a query log. No scrape jobs:
    nothing but the backfilled blocks is ever in the TSDB."""

    def __init__(self, work, series=None, openmetrics=None):
        self.work = work
        self.data = os.path.join(work, "tsdb")
        self.query_log = os.path.join(work, "queries.log")
        os.makedirs(work, exist_ok=True)
        if openmetrics is None:
            openmetrics = os.path.join(work, "history.om")
            write_openmetrics(openmetrics, series)
        shutil.rmtree(self.data, ignore_errors=True)
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", "-q",
                        openmetrics, self.data], check=True, stdout=subprocess.DEVNULL)
        self.config = os.path.join(work, "prometheus.yml")
        with open(self.config, "w") as f:
            f.write(f"global:\n  query_log_file: {self.query_log}\n")
        self.proc = None
        self.start()

    def start(self):
        for _ in range(5):
            self.port = free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            self.log = open(os.path.join(self.work, "prometheus.log"), "a")
            self.proc = subprocess.Popen(
                ["prometheus", f"--config.file={self.config}",
                 f"--storage.tsdb.path={self.data}", f"--web.listen-address=127.0.0.1:{self.port}",
                 "--storage.tsdb.retention.time=3650d",
                 # Keep the backfilled 2h blocks as they are: no compaction burning CPU.
                 "--storage.tsdb.min-block-duration=2h", "--storage.tsdb.max-block-duration=2h",
                 "--web.enable-lifecycle"],
                stdout=self.log, stderr=self.log, preexec_fn=_die_with_parent)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as r:
                        if r.status == 200:
                            return
                except OSError:
                    time.sleep(0.2)
            self.stop()
        raise RuntimeError("prometheus did not start; see " + self.log.name)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    def get(self, path, params=None):
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def query_range(self, query, start, end, step):
        status, body = self.get("/api/v1/query_range",
                                {"query": query, "start": start, "end": end, "step": step})
        return status, json.loads(body)

    def requests(self, handler="/api/v1/query_range"):
        """prometheus_http_requests_total for `handler`, summed over codes."""
        _, text = self.get("/metrics")
        total = 0
        for line in text.splitlines():
            if line.startswith("prometheus_http_requests_total{") and \
                    f'handler="{handler}"' in line:
                total += int(float(line.rsplit(" ", 1)[1]))
        return total

    def logged_queries(self):
        """The query log's entries: [{"query":..., "start":..., "end":..., "step":...}]."""
        out = []
        try:
            with open(self.query_log) as f:
                for line in f:
                    out.append(json.loads(line)["params"])
        except FileNotFoundError:
            pass
        return out
