# SPDX-License-Identifier: Apache-2.0
"""The daemon with the http source against the stub forecaster, through python3-grpcio:
single flight, stale-while-revalidate, fallback, error mapping, and upstream mode with the Go
scaler's own test vectors."""
import concurrent.futures
import json
import os
import time
import unittest

import grpc

from daemon import Daemon, SERVICE, Stub, es, run_cli, WORK, PLUGIN_DIR

WEB = [2, 2, 3, 3, 4, 5, 5, 5]  # lead 5m at 60 s steps -> 5


def poll(fn, want, timeout=15.0):
    """Calls fn until it returns `want` (a functional wait, no timing assertion)."""
    deadline = time.monotonic() + timeout
    got = None
    while time.monotonic() < deadline:
        got = fn()
        if got == want:
            return got
        time.sleep(0.1)
    return got


def config(url, refresh="1s"):
    return f"""
log_level = "debug";
sources = ( {{ name = "fc"; plugin = "http"; url = "{url}"; refresh = "{refresh}";
               timeout = "1500ms"; }},
            {{ name = "big"; plugin = "http"; url = "{url}"; refresh = "{refresh}";
               timeout = "10s"; max_body = "64MiB"; }} );
policies = ( {{ name = "p"; plugin = "max"; lead_time = "5m"; }} );
workloads = (
  {{ match = "big-*"; source = "big"; policy = "p"; }},
  {{ match = "fb-*"; source = "fc"; policy = "p"; stale_after = "2s"; fallback_replicas = 4; }},
  {{ match = "short-*"; source = "fc"; policy = "p"; stale_after = "2s"; }},
  {{ match = "*"; source = "fc"; policy = "p"; }}
);
"""


def value(d, workload, **kw):
    r = d.get_metrics(d.ref("so", workload=workload), "m", **kw)
    return r.metricValues[0].metricValueFloat


def code_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code(), e.details()
    return grpc.StatusCode.OK, ""


class HttpSourceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stub = Stub({"*": {"mode": "fresh", "desiredReplicas": WEB}})
        cls.d = Daemon(config(cls.stub.url), name="http")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.stub.stop()
        assert rc == 0, f"daemon exit code {rc}\n{cls.d.log()}"

    def test_fresh_value(self):
        self.assertEqual(value(self.d, "fresh-one"), 5.0)
        self.assertTrue(self.d.is_active(self.d.ref("fresh-one")).result)

    def test_cold_burst_makes_one_get(self):
        self.stub.control({"burst": {"mode": "slow", "delay_ms": 300, "desiredReplicas": WEB}})
        with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
            results = list(pool.map(lambda _: value(self.d, "burst", timeout=20), range(200)))
        self.assertEqual(set(results), {5.0})
        self.assertEqual(self.stub.count("burst"), 1)

    def test_warm_burst_served_from_cache(self):
        value(self.d, "warm")
        before = self.stub.count("warm")
        call = self.d.channel.unary_unary(SERVICE + "GetMetrics",
                                          request_serializer=lambda m: m.SerializeToString(),
                                          response_deserializer=es.GetMetricsResponse.FromString)
        req = es.GetMetricsRequest(scaledObjectRef=self.d.ref("warm"), metricName="m")
        futures = [call.future(req, timeout=20) for _ in range(200)]
        self.assertEqual({f.result().metricValues[0].metricValue for f in futures}, {5})
        # At most a background refresh happened meanwhile, never one GET per call.
        self.assertLessEqual(self.stub.count("warm") - before, 2)

    def test_workload_name_reaches_forecaster_intact(self):
        self.assertEqual(value(self.d, "a&b=c"), 5.0)
        self.assertIn("a&b=c", self.stub.seen())

    def test_unknown_workload_is_not_found(self):
        self.stub.control({"nf-x": {"mode": "404"}})
        code, details = code_of(lambda: value(self.d, "nf-x"))
        self.assertEqual(code, grpc.StatusCode.NOT_FOUND, details)
        code, details = code_of(lambda: self.d.is_active(self.d.ref("nf-x")))
        self.assertEqual(code, grpc.StatusCode.NOT_FOUND, details)

    def test_error_modes_are_unavailable_with_reason(self):
        for mode, words in (("500", "500"), ("malformed", "JSON"), ("wrongtypes", "stepSeconds"),
                            ("empty", ""), ("reset", ""), ("truncated", ""),
                            ("huge", "max_body")):
            w = "err-" + mode
            self.stub.control({w: {"mode": mode}})
            code, details = code_of(lambda: value(self.d, w))
            self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, (mode, details))
            self.assertIn(words, details, mode)
            # IsActive errors too: a failing source never deactivates a workload
            code, details = code_of(lambda: self.d.is_active(self.d.ref(w)))
            self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, (mode, details))

    def test_body_over_the_element_limit_is_dropped_while_reading(self):
        # 30 million desiredReplicas (60 MB, under this source's max_body of 64 MiB): the parser
        # refuses element 100,001, some 200 KB in, and the transfer ends there. The stub counts
        # the body bytes its kernel took: at most those, its send buffer (64 KiB, doubled by
        # Linux) and our receive buffer (at most tcp_rmem's max), whatever the speed. Parsing
        # the whole body at the end, as before, read all 60 MB.
        count = 30_000_000
        body = 2 * count + 64
        w = "big-points"
        self.stub.control({w: {"mode": "points", "count": count}})
        code, details = code_of(lambda: value(self.d, w, timeout=30))
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, details)
        self.assertIn("bad forecast from", details)
        self.assertIn("desiredReplicas: more than 100000 elements", details)
        deadline = time.monotonic() + 30
        got = self.stub.written(w)
        while not got["done"] and time.monotonic() < deadline:
            time.sleep(0.1)
            got = self.stub.written(w)
        self.assertTrue(got["done"], got)
        with open("/proc/sys/net/ipv4/tcp_rmem") as f:
            rmem_max = int(f.read().split()[2])
        bound = 2 * 100_001 + 64 + 2 * 65536 + rmem_max + 65536  # + one chunk in flight
        self.assertLess(bound, body)  # else the test could not tell
        self.assertLess(got["written"], bound, got)

    def test_chunked_offset_and_array_bodies(self):
        for mode in ("chunked", "offset", "array"):
            w = "ok-" + mode
            self.stub.control({w: {"mode": mode, "desiredReplicas": WEB}})
            self.assertEqual(value(self.d, w), 5.0, mode)
            self.assertTrue(self.d.is_active(self.d.ref(w)).result, mode)

    def test_hanging_workload_does_not_block_another(self):
        value(self.d, "quick")  # warm
        self.stub.control({"stuck": {"mode": "hang"}})
        call = self.d.channel.unary_unary(SERVICE + "GetMetrics",
                                          request_serializer=lambda m: m.SerializeToString(),
                                          response_deserializer=es.GetMetricsResponse.FromString)
        stuck = call.future(es.GetMetricsRequest(scaledObjectRef=self.d.ref("stuck"),
                                                 metricName="m"), timeout=30)
        # While "stuck" waits on its fetch, "quick" is answered.
        self.assertEqual(value(self.d, "quick", timeout=10), 5.0)
        self.assertFalse(stuck.done())
        with self.assertRaises(grpc.RpcError) as ctx:
            stuck.result()
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.UNAVAILABLE)
        self.assertIn("timed out", ctx.exception.details())

    def test_refresh_picks_up_new_forecast(self):
        self.stub.control({"moving": {"mode": "fresh", "desiredReplicas": WEB}})
        self.assertEqual(value(self.d, "moving"), 5.0)
        self.stub.control({"moving": {"mode": "fresh", "desiredReplicas": [9, 9]}})
        self.assertEqual(poll(lambda: value(self.d, "moving"), 9.0), 9.0)

    def test_failing_source_serves_last_good_then_stale(self):
        self.stub.control({"short-x": {"mode": "fresh", "desiredReplicas": WEB},
                           "fb-x": {"mode": "fresh", "desiredReplicas": WEB}})
        self.assertEqual(value(self.d, "short-x"), 5.0)
        self.assertEqual(value(self.d, "fb-x"), 5.0)
        self.stub.control({"short-x": {"mode": "500"}, "fb-x": {"mode": "500"}})
        # Stale-while-revalidate: the last good answer right after the source broke.
        self.assertEqual(value(self.d, "short-x"), 5.0)
        # Once older than stale_after (2s): UNAVAILABLE, or the route's fallback_replicas.
        self.assertEqual(poll(lambda: code_of(lambda: value(self.d, "short-x"))[0],
                              grpc.StatusCode.UNAVAILABLE), grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(poll(lambda: value(self.d, "fb-x"), 4.0), 4.0)
        code, details = code_of(lambda: self.d.is_active(self.d.ref("short-x")))
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, details)
        # The source recovers: fresh answers again.
        self.stub.control({"short-x": {"mode": "fresh", "desiredReplicas": WEB}})
        self.assertEqual(poll(lambda: code_of(lambda: value(self.d, "short-x"))[0],
                              grpc.StatusCode.OK), grpc.StatusCode.OK)

    def test_user_agent(self):
        value(self.d, "ua-check")
        import urllib.request
        with urllib.request.urlopen(self.stub.url + "/_count?workload=ua-check") as r:
            headers = json.loads(r.read())["headers"]
        self.assertTrue(headers.get("User-Agent", "").startswith("kedastral-scaler/"), headers)


class ResumedPieceTest(unittest.TestCase):
    """The source parses at most 256 KiB of a body per loop turn, pausing the transfer until the
    next; a syntax error in the piece libcurl hands back on resume must end the fetch with that
    error at once, not leave the transfer waiting for its timeout (the body comes 1.5 s after
    the request here, so no connect-time timer of libcurl's happens to wake it)."""

    def test_error_in_the_resumed_piece_ends_the_fetch(self):
        import socket
        import threading
        body = ('{"workload":"w","pad":"' + "a" * 285000 + '", ]' + " " * 1000000).encode()
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(4)

        def serve():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                try:
                    c.recv(65536)
                    time.sleep(1.5)
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              b"Content-Length: %d\r\n\r\n" % len(body) + body)
                except OSError:
                    pass
                finally:
                    c.close()

        threading.Thread(target=serve, daemon=True).start()
        d = Daemon(f"""
sources = ( {{ name = "fc"; plugin = "http"; url = "http://127.0.0.1:{srv.getsockname()[1]}";
              timeout = "60s"; }} );
policies = ( {{ name = "p"; plugin = "max"; lead_time = "5m"; }} );
workloads = ( {{ match = "*"; source = "fc"; policy = "p"; }} );
""", name="http-resume")
        try:
            with self.assertRaises(grpc.RpcError) as cm:
                d.get_metrics(d.ref("so", workload="w"), "m", timeout=50)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE,
                             cm.exception.details())
            self.assertIn("invalid JSON", cm.exception.details())
        finally:
            srv.close()
            self.assertEqual(d.stop(), 0, d.log())


class ForecasterKilledTest(unittest.TestCase):
    def test_last_good_until_stale_then_unavailable(self):
        stub = Stub({"*": {"mode": "fresh", "desiredReplicas": WEB}})
        d = Daemon(config(stub.url), name="killed")
        try:
            self.assertEqual(value(d, "short-k"), 5.0)
            self.assertEqual(value(d, "fb-k"), 5.0)
            stub.stop()  # connection refused from now on
            self.assertEqual(value(d, "short-k"), 5.0)
            self.assertEqual(poll(lambda: code_of(lambda: value(d, "short-k"))[0],
                                  grpc.StatusCode.UNAVAILABLE), grpc.StatusCode.UNAVAILABLE)
            self.assertEqual(poll(lambda: value(d, "fb-k"), 4.0), 4.0)
            # A workload never seen before fails with the transport reason.
            code, details = code_of(lambda: value(d, "never-seen"))
            self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, details)
            # Each state change is logged once, not once per call or per retry (the polls above
            # made many calls while the source kept failing).
            for _ in range(10):
                code_of(lambda: value(d, "short-k"))
            log = d.log().splitlines()
            self.assertEqual(sum("workload short-k:" in l and "while retrying" in l
                                 for l in log), 1, d.log())
            self.assertEqual(sum("workload short-k: forecast is stale" in l for l in log), 1,
                             d.log())
        finally:
            self.assertEqual(d.stop(), 0, d.log())
            stub.stop()


def go_body(generated_at, replicas, step=60, workload="my-api"):
    # upstream's scaler_test.go encodes storage.Snapshot without JSON tags: Go-cased keys. Its
    # vectors say "my-api" for every workload; a forecast naming another workload than the one
    # asked for is rejected here, so each test names its own.
    return json.dumps({"Workload": workload, "Metric": "http_rps",
                       "GeneratedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                    time.gmtime(generated_at)),
                       "StepSeconds": step, "HorizonSeconds": step * len(replicas),
                       "Values": [1.0] * len(replicas), "DesiredReplicas": replicas})


class UpstreamModeTest(unittest.TestCase):
    """No --config: FORECASTER_URL + LEAD_TIME, as the Go scaler. Its scaler_test.go vectors."""

    @classmethod
    def setUpClass(cls):
        cls.stub = Stub()
        cls.d = Daemon(None, env={"FORECASTER_URL": cls.stub.url, "LEAD_TIME": "5m"},
                       name="upstream")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.stub.stop()
        assert rc == 0, f"daemon exit code {rc}\n{cls.d.log()}"

    def test_get_metric_spec(self):
        r = self.d.get_metric_spec(self.d.ref("x", workload="my-api"))
        self.assertEqual(r.metricSpecs[0].metricName, "kedastral-my-api-desired-replicas")
        self.assertEqual(r.metricSpecs[0].targetSizeFloat, 1.0)

    def test_get_metrics_success(self):
        self.stub.control({"gm-ok": {"mode": "status", "status": 200,
                                     "body": go_body(time.time(), [2, 2, 3, 3, 4, 5],
                                                     workload="gm-ok")}})
        r = self.d.get_metrics(self.d.ref("x", workload="gm-ok"), "kedastral-gm-ok-desired-replicas")
        self.assertEqual(r.metricValues[0].metricValueFloat, 5.0)
        self.assertEqual(r.metricValues[0].metricName, "kedastral-gm-ok-desired-replicas")

    def test_is_active_success_and_stale(self):
        self.stub.control({"ia-ok": {"mode": "status", "status": 200,
                                     "body": go_body(time.time(), [2], workload="ia-ok")},
                           "ia-stale": {"mode": "status", "status": 200,
                                        "body": go_body(time.time() - 20 * 60, [2],
                                                        workload="ia-stale")}})
        self.assertTrue(self.d.is_active(self.d.ref("ia-ok")).result)
        # Upstream answers false here; a stale forecast is an error instead (README,
        # "Differences"), so that KEDA never scales to zero because the forecaster stopped.
        code, details = code_of(lambda: self.d.is_active(self.d.ref("ia-stale")))
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, details)
        self.assertIn("is stale", details)

    def test_is_active_error_is_an_error(self):
        self.stub.control({"ia-500": {"mode": "500"}})
        code, details = code_of(lambda: self.d.is_active(self.d.ref("ia-500")))
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, details)

    def test_get_metrics_404_is_an_error(self):
        self.stub.control({"gm-404": {"mode": "404"}})
        code, details = code_of(lambda: value(self.d, "gm-404"))
        self.assertNotEqual(code, grpc.StatusCode.OK)

    def test_check_config_in_upstream_mode(self):
        r = run_cli(["--check-config", "--plugin-dir", PLUGIN_DIR],
                    env={"FORECASTER_URL": self.stub.url})
        self.assertEqual(r.returncode, 0, r.stderr)


class UpstreamTlsTest(unittest.TestCase):
    """--tls-enabled / TLS_* map onto the http source's client mTLS, as upstream's flags."""

    def test_mtls_to_the_forecaster(self):
        tls = os.path.join(WORK, "tls")
        os.makedirs(tls, exist_ok=True)
        stub = Stub({"*": {"mode": "fresh", "desiredReplicas": WEB}}, tls_dir=tls)
        env = {"FORECASTER_URL": stub.url, "TLS_ENABLED": "true",
               "TLS_CERT_FILE": os.path.join(tls, "client.pem"),
               "TLS_KEY_FILE": os.path.join(tls, "client.key"),
               "TLS_CA_FILE": os.path.join(tls, "ca.pem")}
        d = Daemon(None, env=env, name="tls")
        try:
            self.assertEqual(value(d, "secure"), 5.0)
        finally:
            self.assertEqual(d.stop(), 0, d.log())
        # Without the client certificate the forecaster refuses us: a clear UNAVAILABLE.
        d = Daemon(None, env={"FORECASTER_URL": stub.url}, name="notls")
        try:
            code, details = code_of(lambda: value(d, "secure"))
            self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, details)
        finally:
            self.assertEqual(d.stop(), 0, d.log())
            stub.stop()

    def test_tls_enabled_needs_all_three_files(self):
        r = run_cli(["--check-config", "--plugin-dir", PLUGIN_DIR, "-tls-enabled"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("--tls-enabled needs --tls-cert-file", r.stderr)


if __name__ == "__main__":
    os.makedirs(WORK, exist_ok=True)
    unittest.main(verbosity=2)
