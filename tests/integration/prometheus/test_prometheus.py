# SPDX-License-Identifier: Apache-2.0
"""The prometheus source against a real Prometheus server (Debian's `prometheus`), on a TSDB
backfilled once per run from three weeks of synthetic 1-minute history. Expected forecasts come
from prometheus.Reference, computed from the synthetic samples alone."""
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import prometheus as P  # noqa: E402

WORK = os.environ.get("KD_WORK") or tempfile.mkdtemp(prefix="kd-prom-")
T0 = int(time.time()) // P.MIN * P.MIN  # the synthetic history ends here
SERIES = P.synth(T0)
REF = P.Reference(SERIES)
PROM = None


def setUpModule():
    global PROM
    PROM = P.Prometheus(os.path.join(WORK, "prometheus"), SERIES)


def tearDownModule():
    if PROM:
        PROM.stop()


def promql_string(v):
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_time(v):
    return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()


class HarnessTest(unittest.TestCase):
    """The server answers as the reference model says, so the expected forecasts below mean
    what they claim."""

    def matrix(self, query, start, end, step=60):
        status, doc = PROM.query_range(query, start, end, step)
        self.assertEqual(status, 200, doc)
        return doc["data"]["result"]

    def test_reference_matches_the_server_over_gaps_and_seasons(self):
        now = T0 - 30 * P.MIN + 17.25  # a phase off the sample grid, as a real clock has
        for workload in ("api", "web", "holes", P.ESCAPED_NAME):
            for k in (1, 2, 3):
                start, end = now + 60 - k * P.WEEK, now + P.HOUR - k * P.WEEK
                got = {}
                for s in self.matrix(f"kd_rps{{workload={promql_string(workload)}}}", start, end):
                    self.assertEqual(s["metric"]["workload"], workload)
                    got = {round(t, 3): float(v) for t, v in s["values"]}
                want = {round(start + j * 60, 3): REF.at(workload, start + j * 60)
                        for j in range(60)}
                want = {t: v for t, v in want.items() if v is not None}
                self.assertEqual(got, want, (workload, k))

    def test_gaps_are_where_the_cases_need_them(self):
        now = T0 + 20.5
        # api: one week back a 40-minute hole inside the horizon; the other seasons cover it.
        missing = [i for i in range(1, 61) if REF.at("api", now + i * 60 - P.WEEK) is None]
        self.assertGreater(len(missing), 20)
        self.assertTrue(all(REF.at("api", now + i * 60 - 3 * P.WEEK) is not None
                            for i in missing))
        # holes: steps that no season covers, and steps that all do.
        covered = [any(REF.at("holes", now + i * 60 - k * P.WEEK) is not None for k in (1, 2, 3))
                   for i in range(1, 61)]
        self.assertIn(False, covered)
        self.assertIn(True, covered)

    def test_request_counter_and_query_log(self):
        before = PROM.requests()
        n_logged = len(PROM.logged_queries())
        self.matrix('kd_rps{workload="web"}', T0 - 600, T0)
        self.assertEqual(PROM.requests() - before, 1)
        logged = PROM.logged_queries()[n_logged:]
        self.assertEqual(len(logged), 1)
        self.assertEqual(parse_time(logged[0]["end"]) - parse_time(logged[0]["start"]), 600)



FETCH = os.environ.get("KD_PROM_FETCH")
PLUGIN = os.environ.get("KD_PROM_PLUGIN")
QUERY = 'kd_rps{workload="$workload"}'
NOW = T0 - 30 * P.MIN + 17.25  # the fake clock of prom_fetch: off the sample grid


def fetch(workloads, now=NOW, **options):
    """The plugin through tests/fakes: {workload: forecast dict or {"error": ...}}."""
    options.setdefault("url", PROM.url)
    options.setdefault("query", QUERY)
    options.setdefault("per_replica", "100")
    args = [FETCH, PLUGIN, str(int(round(now * 1000)))]
    args += [f"{k}={v}" for k, v in options.items()] + ["--"] + list(workloads)
    out = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError(f"prom_fetch exit {out.returncode}: {out.stderr}")
    return {d["workload"]: d for d in map(json.loads, out.stdout.splitlines())}


def forecaster():
    """tests/stub/forecaster.py as a module, for its throwaway PKI and TLS context."""
    import importlib.util
    path = os.path.join(os.path.dirname(os.path.dirname(HERE)), "stub", "forecaster.py")
    spec = importlib.util.spec_from_file_location("kd_stub_forecaster", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Stub:
    """A stand-in for a broken Prometheus: canned status and body, or a long pause."""

    def __init__(self, status=200, body="", delay=0.0, tls_dir=None):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests.append((self.path, dict(self.headers)))
                if outer.delay:
                    time.sleep(outer.delay)
                data = outer.body.encode()
                try:
                    self.send_response(outer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.status, self.body, self.delay = status, body, delay
        self.requests = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls_dir:  # HTTPS requiring a client certificate, as tests/stub/forecaster.py does
            self.server.socket = forecaster().tls_context(tls_dir).wrap_socket(
                self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class PluginTest(unittest.TestCase):
    """Whole forecasts from the built plugin against the real server, compared with the
    reference point by point."""

    def assert_forecast(self, got, want_values, per_replica=100.0):
        self.assertNotIn("error", got)
        self.assertEqual(got["generatedAt"], int(round(NOW * 1000)))
        self.assertEqual(got["stepSeconds"], 60)
        self.assertEqual(len(got["values"]), len(want_values))
        for i, (a, b) in enumerate(zip(got["values"], want_values)):
            self.assertAlmostEqual(a, b, delta=1e-9 * max(1.0, abs(b)), msg=f"step {i + 1}")
        self.assertEqual(got["desiredReplicas"], [P.replicas(v, per_replica) for v in want_values])

    def test_seasonal_median_max_mean(self):
        workloads = ["api", "web", P.ESCAPED_NAME]
        for combine in ("median", "max", "mean"):
            got = fetch(workloads, combine=combine)
            for w in workloads:
                with self.subTest(combine=combine, workload=w):
                    self.assert_forecast(got[w], REF.seasonal(w, NOW, 60, P.HOUR, P.WEEK, 3,
                                                              combine))
        # The three really differ, or the test would prove nothing.
        api = {c: fetch(["api"], combine=c)["api"]["values"] for c in ("median", "max", "mean")}
        self.assertEqual(len({tuple(v) for v in api.values()}), 3)

    def test_seasonal_other_seasons_and_counts(self):
        got = fetch(["web"], season="1d", seasons="5", horizon="2h", step="2m", per_replica="7.5")
        self.assert_forecast_step(got["web"], REF.seasonal("web", NOW, 120, 2 * P.HOUR, P.DAY, 5,
                                                           "median"), 120, 7.5)

    def assert_forecast_step(self, got, want, step, per_replica):
        self.assertNotIn("error", got)
        self.assertEqual(got["stepSeconds"], step)
        self.assertEqual(len(got["values"]), len(want))
        for a, b in zip(got["values"], want):
            self.assertAlmostEqual(a, b, delta=1e-9 * max(1.0, abs(b)))
        self.assertEqual(got["desiredReplicas"], [P.replicas(v, per_replica) for v in want])

    def test_linear(self):
        got = fetch(["ramp", "web"], model="linear", window="1h", horizon="30m")
        for w in ("ramp", "web"):
            self.assert_forecast(got[w], REF.linear(w, NOW, 60, 30 * P.MIN, P.HOUR))
        # The ramp climbs 0.5 per minute: the fit is that line.
        self.assertAlmostEqual(got["ramp"]["values"][1] - got["ramp"]["values"][0], 0.5,
                               delta=1e-9)

    def test_horizon_split_into_shards(self):
        before = PROM.requests()
        logged = len(PROM.logged_queries())
        got = fetch(["api"], max_points="25")  # 60 steps: 25 + 25 + 10 per season
        self.assertEqual(PROM.requests() - before, 3 * 3)
        queries = PROM.logged_queries()[logged:]
        self.assertEqual(len(queries), 9)
        points = sorted(int((parse_time(q["end"]) - parse_time(q["start"])) / q["step"]) + 1
                        for q in queries)
        self.assertEqual(points, [10, 10, 10, 25, 25, 25, 25, 25, 25])
        self.assert_forecast(got["api"], REF.seasonal("api", NOW, 60, P.HOUR, P.WEEK, 3,
                                                      "median"))
        # One query per season when everything fits, as the README says.
        before = PROM.requests()
        fetch(["api"])
        self.assertEqual(PROM.requests() - before, 3)

    def test_escaping_keeps_the_name_inside_the_literal(self):
        got = fetch([P.ESCAPED_NAME, '"} or vector(1) or x{a="', "api\\", 'x"'])
        self.assert_forecast(got[P.ESCAPED_NAME], REF.seasonal(P.ESCAPED_NAME, NOW, 60, P.HOUR,
                                                               P.WEEK, 3, "median"))
        for w in ('"} or vector(1) or x{a="', "api\\", 'x"'):
            self.assertIn("found no series", got[w]["error"], w)

    def test_errors(self):
        cases = {
            "several series": ("pods", {}, ['2 series where one was expected',
                                            '{__name__="kd_rps", pod="p-1", workload="pods"}',
                                            '{__name__="kd_rps", pod="p-2", workload="pods"}']),
            "empty result": ("nope", {}, ['`kd_rps{workload="nope"}` found no series in any of '
                                          'the 3 past seasons']),
            "no season at a step": ("holes", {}, ["no past season has a sample for",
                                                  "found nothing at"]),
            "status error": ("api", {"query": 'sum(kd_rps{workload="$workload"}'},
                             ["Prometheus says (HTTP 400) bad_data:", "unclosed left parenthesis"]),
            "NaN": ("api", {"query": '(kd_rps{workload="$workload"} - kd_rps{workload="$workload"})'
                                     ' / 0'}, ["NaN at "]),
            "+Inf": ("api", {"query": 'kd_rps{workload="$workload"} / 0'}, ["+Inf at "]),
            "-Inf": ("api", {"query": '-kd_rps{workload="$workload"} / 0'}, ["-Inf at "]),
            "oversize": ("api", {"max_body": "1KiB"}, ["larger than max_body (1024 bytes)"]),
            "linear without history": ("nope", {"model": "linear"}, ["fewer than two samples"]),
        }
        for name, (workload, options, words) in cases.items():
            with self.subTest(name):
                got = fetch([workload], **options)[workload]
                self.assertIn("error", got)
                for w in words:
                    self.assertIn(w, got["error"])

    def test_broken_servers(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, never listening
        got = fetch(["api"], url=closed)["api"]
        self.assertIn("query_range `kd_rps{workload=\"api\"}`", got["error"])
        self.assertRegex(got["error"], "(?i)connect|refused")

        cases = [
            (Stub(delay=3.0), {"timeout": "500ms"}, "(?i)timed? ?out"),
            (Stub(status=502, body="<html>bad gateway</html>"), {},
             "HTTP 502, not a Prometheus API response"),
            (Stub(status=503, body='{"status":"error","errorType":"unavailable",'
                                   '"error":"too many queries"}'), {},
             r"Prometheus says \(HTTP 503\) unavailable: too many queries"),
            (Stub(body='{"status":"success","data":{"resultType":"matrix","result":[{"metric":'
                       '{},"values":[[1,"abc"]]}]}}'), {}, "not on the query's grid"),
        ]
        for stub, options, pattern in cases:
            try:
                got = fetch(["api"], url=stub.url, **options)["api"]
                self.assertRegex(got.get("error", ""), pattern)
            finally:
                stub.stop()

    def test_queued_queries_get_their_whole_timeout(self):
        # 4 workloads x 3 seasons = 12 queries through one connection to a server that takes
        # 0.3 s each: 3.6 s in all. Each query's 2 s timeout runs from when it gets the
        # connection, not from when it was queued, so every one reaches the server and gets
        # its (empty) answer; none times out waiting.
        stub = Stub(body='{"status":"success","data":{"resultType":"matrix","result":[]}}',
                    delay=0.3)
        workloads = ["w1", "w2", "w3", "w4"]
        try:
            got = fetch(workloads, url=stub.url, max_connections=1, timeout="2s")
            for w in workloads:
                self.assertIn("found no series", got[w].get("error", ""), (w, got[w]))
            self.assertEqual(len(stub.requests), 12)
        finally:
            stub.stop()

    def test_token_and_headers_reach_the_server(self):
        token = os.path.join(WORK, "token")
        with open(token, "w") as f:
            f.write("s3cr3t\n")
        stub = Stub(body='{"status":"success","data":{"resultType":"matrix","result":[]}}')
        try:
            got = fetch(["api"], url=stub.url + "/prefix/", bearer_token_file=token,
                        header="X-Scope-OrgID: tenant-1")["api"]
            self.assertIn("found no series", got["error"])
            self.assertEqual(len(stub.requests), 3)
            for path, headers in stub.requests:
                self.assertTrue(path.startswith("/prefix/api/v1/query_range?query="), path)
                self.assertEqual(headers.get("Authorization"), "Bearer s3cr3t")
                self.assertEqual(headers.get("X-Scope-OrgID"), "tenant-1")
                self.assertEqual(headers.get("Accept"), "application/json")
        finally:
            stub.stop()

    def test_mtls(self):
        pki = os.path.join(WORK, "pki")
        os.makedirs(pki, exist_ok=True)
        forecaster().make_certs(pki)
        stub = Stub(body='{"status":"success","data":{"resultType":"matrix","result":[]}}',
                    tls_dir=pki)
        ca, cert, key = (os.path.join(pki, n) for n in ("ca.pem", "client.pem", "client.key"))
        try:
            # With the CA and a client certificate the answer arrives (an empty result).
            got = fetch(["api"], url=stub.url, tls_ca=ca, tls_cert=cert, tls_key=key)["api"]
            self.assertIn("found no series", got["error"])
            self.assertEqual(len(stub.requests), 3)
            # Without the CA the server is not trusted; without a certificate it hangs up.
            got = fetch(["api"], url=stub.url, tls_cert=cert, tls_key=key)["api"]
            self.assertRegex(got["error"], "(?i)certificate|SSL")
            got = fetch(["api"], url=stub.url, tls_ca=ca)["api"]
            self.assertNotIn("found no series", got["error"])
            self.assertRegex(got["error"], "(?i)SSL|TLS|alert|reset|recv|receiv")
            self.assertEqual(len(stub.requests), 3)
        finally:
            stub.stop()

    def test_non_numeric_value(self):
        # A value on the grid that is not a number: only a broken server sends one.
        start = int(round((NOW + 60 - P.WEEK) * 1000)) / 1000
        body = ('{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},'
                f'"values":[[{start},"twelve"]]}}]}}}}')
        stub = Stub(body=body)
        try:
            got = fetch(["api"], url=stub.url, seasons="1")["api"]
            self.assertIn('"twelve" at ', got["error"])
            self.assertIn("is not a number", got["error"])
        finally:
            stub.stop()


def daemon_config(source, lead="5m"):
    return f"""
log_level = "debug";
sources = ( {source} );
policies = ( {{ name = "p"; plugin = "max"; lead_time = "{lead}"; }} );
workloads = ( {{ match = "*"; source = "fc"; policy = "p"; }} );
"""


def prometheus_source(**options):
    opts = {"url": PROM.url, "query": QUERY, "per_replica": 100, "refresh": "1h",
            "timeout": "5s"}
    opts.update(options)
    body = " ".join(f'{k} = {json.dumps(v)};' for k, v in opts.items())
    return f'{{ name = "fc"; plugin = "prometheus"; {body} }}'


def lead_max(workload, t, lead_steps=5):
    """What the max policy answers for a forecast made at t: max(desiredReplicas[0..5])."""
    values = REF.seasonal(workload, t, 60, P.HOUR, P.WEEK, 3, "median")
    return max(P.replicas(v, 100) for v in values[:lead_steps + 1])


class DaemonTest(unittest.TestCase):
    """The real daemon with the prometheus source, through python3-grpcio."""

    @classmethod
    def setUpClass(cls):
        from daemon import Daemon  # noqa: E402  (needs KD_BINARY etc.)
        cls.Daemon = Daemon

    def test_seasonal_forecast_through_get_metrics(self):
        d = self.Daemon(daemon_config(prometheus_source()), name="prom")
        try:
            before = time.time()
            r = d.get_metrics(d.ref("so", workload="api"), "m")
            after = time.time()
            # The forecast was made at some instant in [before, after]: its answer is one of
            # the reference's for the minutes that window touches.
            want = {lead_max("api", t) for t in (before, after)}
            self.assertIn(r.metricValues[0].metricValue, want)
            self.assertEqual(r.metricValues[0].metricName, "m")
            self.assertTrue(d.is_active(d.ref("so", workload="api")).result)
            esc = d.get_metrics(d.ref("so", workload=P.ESCAPED_NAME), "m")
            self.assertIn(esc.metricValues[0].metricValue,
                          {lead_max(P.ESCAPED_NAME, t) for t in (before, time.time())})
        finally:
            self.assertEqual(d.stop(), 0, d.log())

    def test_prometheus_error_text_reaches_grpc_and_log(self):
        import grpc
        d = self.Daemon(daemon_config(prometheus_source(
            query='sum(kd_rps{workload="$workload"}')), name="prom-err")
        try:
            with self.assertRaises(grpc.RpcError) as cm:
                d.get_metrics(d.ref("so", workload="api"), "m")
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertIn("bad_data", cm.exception.details())
            self.assertIn("unclosed left parenthesis", cm.exception.details())
            self.assertIsNotNone(d.wait_for("unclosed left parenthesis", 10), d.log())
            # IsActive errors too (no forecast), so KEDA's fallback applies.
            with self.assertRaises(grpc.RpcError) as cm:
                d.is_active(d.ref("so", workload="api"))
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertIn("bad_data", cm.exception.details())
        finally:
            self.assertEqual(d.stop(), 0, d.log())

    def test_slow_prometheus_is_cancelled_and_unavailable(self):
        import grpc
        stub = Stub(delay=5.0)
        d = self.Daemon(daemon_config(prometheus_source(url=stub.url, timeout="700ms")),
                        name="prom-slow")
        try:
            for _ in range(2):  # the second call meets the failed entry, not a new hang
                with self.assertRaises(grpc.RpcError) as cm:
                    d.get_metrics(d.ref("so", workload="api"), "m", timeout=10)
                self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertRegex(cm.exception.details(), "(?i)timed? ?out")
            self.assertEqual(len(stub.requests), 3)  # one refresh: its three queries, once
        finally:
            rc = d.stop()
            stub.stop()
            self.assertEqual(rc, 0, d.log())

    def test_readme_example_is_a_valid_config(self):
        from daemon import run_cli, PLUGIN_DIR
        with open(os.path.join(os.path.dirname(os.path.dirname(HERE)), "..", "README.md")) as f:
            readme = f.read()
        section = readme.split("## Without the Kedastral forecaster", 1)[1]
        example = section.split("```\n", 2)[1]
        self.assertIn('plugin = "prometheus"', example)
        conf = os.path.join(WORK, "readme-prom.conf")
        with open(conf, "w") as f:
            f.write(example)
        out = run_cli(["--plugin-dir", PLUGIN_DIR, "--config", conf, "--check-config"])
        self.assertEqual(out.returncode, 0, out.stderr)

    def test_bad_options_refuse_to_start_with_words(self):
        from daemon import run_cli, PLUGIN_DIR
        conf = os.path.join(WORK, "bad-prom.conf")
        for options, words in (({"query": "sum by ($workload) (x)"}, "outside a string literal"),
                               ({"combine": "p99"}, 'combine "p99"'),
                               ({"max_points": 20000}, "11000"),
                               ({"season": "30m"}, "shorter than horizon"),
                               ({"per_replica": 0}, "per_replica")):
            with open(conf, "w") as f:
                f.write(daemon_config(prometheus_source(**options)))
            out = run_cli(["--plugin-dir", PLUGIN_DIR, "--config", conf, "--check-config"])
            self.assertNotEqual(out.returncode, 0, options)
            self.assertIn(words, out.stderr, options)

    def test_file_to_prometheus_by_sighup_under_load(self):
        import grpc
        recording = os.path.join(WORK, "seven.json")
        with open(recording, "w") as f:
            json.dump({"workload": "api", "metric": "rps", "generatedAt": "2025-01-01T00:00:00Z",
                       "stepSeconds": 60, "horizonSeconds": 3600,
                       "desiredReplicas": [777] * 60, "values": [77700.0] * 60}, f)
        file_source = (f'{{ name = "fc"; plugin = "file"; path = "{recording}"; rebase = true; '
                       'loop = true; }')
        d = self.Daemon(daemon_config(file_source), name="prom-reload")
        seen, failures, stop = [], [], threading.Event()

        def load():
            while not stop.is_set():
                try:
                    r = d.get_metrics(d.ref("so", workload="api"), "m", timeout=10)
                    seen.append(r.metricValues[0].metricValue)
                except grpc.RpcError as e:
                    failures.append((e.code(), e.details()))

        try:
            self.assertEqual(d.get_metrics(d.ref("so", workload="api"), "m")
                             .metricValues[0].metricValue, 777)
            threads = [threading.Thread(target=load) for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            n_before = len(seen)
            before = time.time()
            d.rewrite_config(daemon_config(prometheus_source()))
            d.reload(1)
            want = None
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if seen and seen[-1] != 777:
                    want = seen[-1]
                    break
                time.sleep(0.05)
            time.sleep(0.5)  # more calls on the new source
            stop.set()
            for t in threads:
                t.join()
            self.assertEqual(failures, [])
            self.assertGreater(n_before, 0)
            self.assertIn(want, {lead_max("api", t) for t in (before, time.time())})
            # Before the swap the file's 777, after it Prometheus' answer, nothing else.
            self.assertEqual(set(seen), {777, want})
            i = seen.index(want)
            self.assertEqual(set(seen[i:]), {want})
        finally:
            stop.set()
            self.assertEqual(d.stop(), 0, d.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
