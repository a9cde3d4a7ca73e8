# SPDX-License-Identifier: Apache-2.0
"""Operations: /metrics (checked by promtool and an independent parser), /healthz and /readyz
states, SIGHUP reload (good edit, bad edit, under load), drain grace. Clients are python3-grpcio
and http.client; nothing is shared with the daemon's code."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import unittest

import grpc

from daemon import Daemon, forecast, http_get, WORK

NOW = time.time()
WEB = [2, 2, 3, 3, 4, 5, 5, 5]  # lead 5m -> 5, lead 1m -> 2

UPSTREAM_HELP = {
    "kedastral_scaler_grpc_requests_total":
        ("counter", "Total number of gRPC requests by method and status"),
    "kedastral_scaler_grpc_request_duration_seconds":
        ("histogram", "Duration of gRPC requests by method"),
    "kedastral_scaler_forecast_fetch_duration_seconds":
        ("histogram", "Duration of forecast fetch from forecaster"),
    "kedastral_scaler_forecast_fetch_errors_total":
        ("counter", "Total number of errors fetching forecasts"),
    "kedastral_scaler_desired_replicas_returned":
        ("gauge", "Last desired replicas value returned to KEDA"),
    "kedastral_scaler_forecast_age_seen_seconds":
        ("gauge", "Age of forecast data seen from forecaster"),
}
DEF_BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
               "+Inf"]


def setup_dir(name):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, "live.json"), "w") as f:
        json.dump([forecast("web", WEB, NOW), forecast("edge-api", WEB, NOW)], f)
    with open(os.path.join(d, "old.json"), "w") as f:
        json.dump([forecast("stale-app", [6, 6], NOW - 3600)], f)
    return d


def config(d, lead="5m", level="debug", extra=""):
    return f"""
log_level = "{level}";
{extra}
sources = (
  {{ name = "live"; plugin = "file"; path = "{d}/live.json"; }},
  {{ name = "old"; plugin = "file"; path = "{d}/old.json"; rebase = false; loop = false; }}
);
policies = ( {{ name = "lookahead"; plugin = "max"; lead_time = "{lead}"; }} );
workloads = (
  {{ match = "stale-*"; source = "old"; policy = "lookahead"; }},
  {{ match = "web"; source = "live"; policy = "lookahead"; }},
  {{ match = "*-api"; source = "live"; policy = "lookahead"; }}
);
"""


def samples(text):
    """{(name, frozenset(labels)): value} from exposition text, parsed here by hand."""
    out = {}
    rx = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = rx.match(line)
        assert m, f"bad sample line: {line!r}"
        labels = frozenset(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def promtool_check(text):
    promtool = shutil.which("promtool")
    if not promtool:
        raise AssertionError("promtool not found: install the Debian package 'prometheus'")
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


class MetricsTest(unittest.TestCase):
    def test_exposition_after_traffic(self):
        d = setup_dir("ops-metrics")
        daemon = Daemon(config(d), name="ops-metrics")
        try:
            self.assertIsNotNone(daemon.http_port, daemon.log())
            status, ctype, text = http_get(daemon.http_port, "/metrics")
            self.assertEqual(status, 200)
            self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
            s = samples(text)
            # Unlabelled upstream metrics exist from the start, at 0; the vecs do not yet.
            for name in ("kedastral_scaler_forecast_fetch_errors_total",
                         "kedastral_scaler_desired_replicas_returned",
                         "kedastral_scaler_forecast_age_seen_seconds",
                         "kedastral_scaler_forecast_fetch_duration_seconds_count"):
                self.assertEqual(s[(name, frozenset())], 0, name)
            self.assertNotIn("kedastral_scaler_grpc_requests_total", text)

            ref = daemon.ref
            self.assertEqual(daemon.get_metrics(ref("web"), "m").metricValues[0]
                             .metricValueFloat, 5)
            with self.assertRaises(grpc.RpcError):
                daemon.get_metrics(ref("stale-app"), "m")  # stale, no fallback -> error
            self.assertTrue(daemon.is_active(ref("web")).result)
            # stale, or not in the source: an error (KEDA then keeps the replicas), not false
            with self.assertRaises(grpc.RpcError) as ctx:
                daemon.is_active(ref("stale-app"))
            self.assertEqual(ctx.exception.code(), grpc.StatusCode.UNAVAILABLE)
            with self.assertRaises(grpc.RpcError) as ctx:
                daemon.is_active(ref("ghost-api"))
            self.assertEqual(ctx.exception.code(), grpc.StatusCode.NOT_FOUND)
            daemon.get_metric_spec(ref("web"))
            stream = daemon.stream_is_active(ref("web"))
            self.assertTrue(next(stream).result)

            status, _, text = http_get(daemon.http_port, "/metrics")
            self.assertEqual(status, 200)
            rc, out = promtool_check(text)
            self.assertEqual(rc, 0, out + "\n" + text)
            for name, (typ, help_) in UPSTREAM_HELP.items():
                self.assertIn(f"# HELP {name} {help_}\n# TYPE {name} {typ}\n", text)
            s = samples(text)

            def req(method, st):
                return s.get(("kedastral_scaler_grpc_requests_total",
                              frozenset({("method", method), ("status", st)})))
            self.assertEqual(req("GetMetrics", "success"), 1)
            self.assertEqual(req("GetMetrics", "error"), 1)
            self.assertEqual(req("IsActive", "active"), 1)
            self.assertEqual(req("IsActive", "inactive_stale"), 1)
            self.assertEqual(req("IsActive", "inactive_error"), 1)
            self.assertEqual(req("GetMetricSpec", "success"), 1)
            self.assertEqual(req("StreamIsActive", "started"), 1)
            statuses = {dict(k[1])["status"] for k in s
                        if k[0] == "kedastral_scaler_grpc_requests_total"}
            self.assertEqual(statuses, {"success", "error", "active", "inactive_stale",
                                        "inactive_error", "started"})
            for method, count in (("GetMetrics", 2), ("IsActive", 3), ("GetMetricSpec", 1)):
                les = [dict(k[1])["le"] for k in s
                       if k[0] == "kedastral_scaler_grpc_request_duration_seconds_bucket"
                       and dict(k[1])["method"] == method]
                self.assertEqual(sorted(les, key=lambda v: float(v)),
                                 sorted(DEF_BUCKETS, key=lambda v: float(v)))
                self.assertEqual(s[("kedastral_scaler_grpc_request_duration_seconds_count",
                                    frozenset({("method", method)}))], count)
            # Like upstream, StreamIsActive has no duration.
            self.assertNotIn('duration_seconds_count{method="StreamIsActive"}', text)
            self.assertEqual(s[("kedastral_scaler_desired_replicas_returned", frozenset())], 5)
            self.assertGreater(s[("kedastral_scaler_forecast_age_seen_seconds", frozenset())], 0)
            self.assertEqual(s[("kedastral_scaler_workload_desired_replicas",
                                frozenset({("workload", "web"), ("mode", "active")}))], 5)
            self.assertIn(("kedastral_scaler_workload_forecast_age_seconds",
                           frozenset({("workload", "web")})), s)
            # Fetches: web, stale-app and ghost-api (not found in the file) at least once each.
            self.assertGreaterEqual(s[("kedastral_scaler_forecast_fetches_total",
                                       frozenset({("source", "live"), ("result", "success")}))], 1)
            self.assertGreaterEqual(s[("kedastral_scaler_forecast_fetches_total",
                                       frozenset({("source", "live"),
                                                  ("result", "not_found")}))], 1)
            self.assertGreaterEqual(
                s[("kedastral_scaler_forecast_fetch_errors_total", frozenset())], 1)
            self.assertGreaterEqual(
                s[("kedastral_scaler_forecast_fetch_duration_seconds_count", frozenset())], 3)
            self.assertEqual(s[("kedastral_scaler_cache_entries", frozenset())], 3)
            self.assertEqual(s[("kedastral_scaler_open_streams", frozenset())], 1)
            self.assertGreaterEqual(s[("kedastral_scaler_grpc_open_connections", frozenset())], 1)
            self.assertEqual(s[("kedastral_scaler_build_info",
                                frozenset({("version", _version())}))], 1)
            for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                         "process_open_fds", "process_max_fds", "process_start_time_seconds",
                         "process_virtual_memory_bytes"):
                self.assertIn((name, frozenset()), s)
            self.assertGreater(s[("process_resident_memory_bytes", frozenset())], 0)
            self.assertAlmostEqual(s[("process_start_time_seconds", frozenset())], NOW,
                                   delta=120)
            stream.cancel()
        finally:
            self.assertEqual(daemon.stop(), 0, daemon.log())

    def test_promtool_rejects_broken_text(self):
        # The checker itself must be able to fail, or the check above proves nothing.
        rc, _ = promtool_check("# TYPE x counter\nx{a=\"1\" 1\n")
        self.assertNotEqual(rc, 0)


def _version():
    r = subprocess.run([os.environ["KD_BINARY"], "--version"], capture_output=True, text=True)
    return r.stdout.split()[1]


class AdminHttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(config(setup_dir("ops-admin"), level="info"), name="ops-admin")

    @classmethod
    def tearDownClass(cls):
        assert cls.d.stop() == 0, cls.d.log()

    def test_health_and_ready(self):
        self.assertEqual(http_get(self.d.http_port, "/healthz")[::2], (200, "OK"))
        self.assertEqual(http_get(self.d.http_port, "/readyz")[::2], (200, "OK"))
        self.assertEqual(http_get(self.d.http_port, "/healthz?verbose=1")[0], 200)

    def test_unknown_path_and_method(self):
        self.assertEqual(http_get(self.d.http_port, "/nope")[0], 404)
        self.assertEqual(http_get(self.d.http_port, "/metrics/")[0], 404)
        for method in ("POST", "PUT", "DELETE"):
            for path in ("/metrics", "/healthz", "/readyz"):
                self.assertEqual(http_get(self.d.http_port, path, method=method)[0], 405)

    def test_no_per_call_info_lines(self):
        ref = self.d.ref
        self.d.get_metrics(ref("web"), "m")
        before = len(self.d.log().splitlines())
        for _ in range(20):
            self.d.get_metrics(ref("web"), "m")
            self.d.is_active(ref("web"))
        for _ in range(5):
            with self.assertRaises(grpc.RpcError):
                self.d.is_active(ref("stale-app"))
        time.sleep(0.3)
        new = self.d.log().splitlines()[before:]
        # 45 calls, at most the one state change (stale-app went stale) and its first fetch.
        self.assertLessEqual(len(new), 2, "\n".join(new))
        self.assertEqual(sum("stale-app: forecast is stale" in l for l in new), 1, "\n".join(new))


class AdminPortBusyTest(unittest.TestCase):
    def test_busy_admin_port_is_logged_and_grpc_serves(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        try:
            daemon = Daemon(config(setup_dir("ops-busy")), args=["--http-listen",
                                                                  f"127.0.0.1:{port}"],
                            name="ops-busy")
            try:
                self.assertIsNotNone(daemon.wait_for(
                    r"error .*cannot serve /metrics, /healthz and /readyz on 127.0.0.1:"
                    rf"{port}: Address already in use; continuing without them"))
                self.assertEqual(daemon.get_metrics(daemon.ref("web"), "m").metricValues[0]
                                 .metricValueFloat, 5)
            finally:
                self.assertEqual(daemon.stop(), 0, daemon.log())
        finally:
            busy.close()


class DrainTest(unittest.TestCase):
    def test_healthz_and_readyz_503_while_draining(self):
        d = setup_dir("ops-drain")
        daemon = Daemon(config(d, extra='shutdown_timeout = "4s";'), name="ops-drain")
        # An idle HTTP/2 connection keeps the drain open until the grace ends or it closes.
        raw = socket.create_connection(("127.0.0.1", daemon.port))
        raw.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
        try:
            time.sleep(0.2)
            self.assertEqual(http_get(daemon.http_port, "/healthz")[0], 200)
            started = time.monotonic()
            daemon.proc.send_signal(signal.SIGTERM)
            self.assertIsNotNone(daemon.wait_for(r"SIGTERM: draining \(grace 4000 ms\)"))
            self.assertEqual(http_get(daemon.http_port, "/healthz")[::2], (503, "draining"))
            self.assertEqual(http_get(daemon.http_port, "/readyz")[::2], (503, "draining"))
            self.assertIsNone(daemon.proc.poll())
            raw.close()
            self.assertEqual(daemon.proc.wait(10), 0, daemon.log())
            # Closing the last connection ended the drain, not the grace.
            self.assertLess(time.monotonic() - started, 4, daemon.log())
        finally:
            raw.close()
            daemon.stop()


class ReloadTest(unittest.TestCase):
    def setUp(self):
        self.dir = setup_dir("ops-reload-" + self._testMethodName)
        self.daemon = Daemon(config(self.dir), name="ops-reload")

    def tearDown(self):
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())

    def web(self, daemon=None):
        return (daemon or self.daemon).get_metrics(self.daemon.ref("web"), "m") \
            .metricValues[0].metricValueFloat

    def reload_counts(self):
        s = samples(http_get(self.daemon.http_port, "/metrics")[2])
        return tuple(s[("kedastral_scaler_config_reloads_total",
                        frozenset({("result", r)}))] for r in ("success", "failure"))

    def test_good_then_bad_edit(self):
        self.assertEqual(self.web(), 5)
        stream = self.daemon.stream_is_active(self.daemon.ref("web"))
        self.assertTrue(next(stream).result)
        self.daemon.rewrite_config(config(self.dir, lead="1m"))
        self.daemon.reload(1)
        self.assertEqual(self.web(), 2)  # new value served
        self.assertEqual(self.reload_counts(), (1, 0))

        # Syntax error on line 3: logged with file:line, the old (1m) config keeps serving.
        self.daemon.rewrite_config('log_level = "debug";\n\nsources = ( {{ name = "x" }\n')
        self.daemon.reload(1, ok=False)
        self.assertRegex(self.daemon.log(), re.escape(self.daemon.config) + r":3: ")
        self.assertEqual(self.web(), 2)
        # A plugin that does not exist: named with file:line too.
        self.daemon.rewrite_config(
            config(self.dir).replace('plugin = "max"', 'plugin = "nosuch"'))
        self.daemon.reload(2, ok=False)
        self.assertRegex(self.daemon.log(), r"reload failed.*" + re.escape(self.daemon.config)
                         + r":\d+: .*nosuch")
        self.assertEqual(self.web(), 2)
        self.assertEqual(self.reload_counts(), (1, 2))
        self.assertEqual(http_get(self.daemon.http_port, "/readyz")[0], 200)

        # The stream opened before the reloads still runs on the old config; SIGTERM ends it OK.
        self.daemon.proc.send_signal(signal.SIGTERM)
        self.assertEqual(list(stream), [])
        self.assertEqual(stream.code(), grpc.StatusCode.OK)
        self.assertEqual(self.daemon.proc.wait(20), 0)

    def test_reload_under_load(self):
        self.assertEqual(self.web(), 5)
        results = {"ok": 0, "values": set(), "errors": []}
        stop = threading.Event()
        # A second, independent channel: its own connection, pooled like KEDA's.
        channel = grpc.insecure_channel(self.daemon.addr)
        from daemon import es, SERVICE
        call = channel.unary_unary(SERVICE + "GetMetrics",
                                   request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=es.GetMetricsResponse.FromString)
        req = es.GetMetricsRequest(scaledObjectRef=self.daemon.ref("web"), metricName="m")

        def load():
            while not stop.is_set():
                try:
                    r = call(req, timeout=10)
                    results["ok"] += 1
                    results["values"].add(r.metricValues[0].metricValueFloat)
                except grpc.RpcError as e:
                    results["errors"].append(f"{e.code()}: {e.details()}")

        threads = [threading.Thread(target=load) for _ in range(2)]
        for t in threads:
            t.start()
        try:
            for i, lead in enumerate(("1m", "5m", "1m"), start=1):
                time.sleep(0.3)
                self.daemon.rewrite_config(config(self.dir, lead=lead))
                self.daemon.reload(i)
            time.sleep(0.3)
        finally:
            stop.set()
            for t in threads:
                t.join(20)
            channel.close()
        self.assertEqual(results["errors"], [])
        self.assertGreater(results["ok"], 20)
        self.assertEqual(results["values"], {5.0, 2.0})
        self.assertEqual(self.web(), 2)
        self.assertEqual(self.reload_counts(), (3, 0))


if __name__ == "__main__":
    unittest.main()
