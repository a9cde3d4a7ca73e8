# SPDX-License-Identifier: Apache-2.0
"""The real daemon, the real file source and max policy, driven by python3-grpcio (C core)."""
import json
import os
import queue
import signal
import subprocess
import threading
import time
import unittest

import grpc

from daemon import (Daemon, SERVICE, es, forecast, health_pb2, refl_v1, refl_v1alpha,
                    run_cli, WORK)

NOW = time.time()
# Upstream's GetMetrics vector: step 60 s, lead 5m -> window 0..5 inclusive -> 5.
WEB = [2, 2, 3, 3, 4, 5, 5, 5]
# A series whose max sits exactly one past the window: proves the window is inclusive of 5.
EDGE = [1, 1, 1, 1, 1, 7, 9]


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f)


def config(dir_):
    live = os.path.join(dir_, "live.json")
    old = os.path.join(dir_, "old.json")
    write_json(live, [forecast("web", WEB, NOW), forecast("edge-api", EDGE, NOW),
                      forecast("nostep-app", [3, 4], NOW, step=0),
                      forecast("empty-app", [], NOW)])
    write_json(old, [forecast("stale-app", [6, 6], NOW - 3600),
                     forecast("stale-fb-app", [6, 6], NOW - 3600)])
    return f"""
plugin_dir = "/nonexistent";   # overridden by --plugin-dir
log_level = "debug";
sources = (
  {{ name = "live"; plugin = "file"; path = "{live}"; }},
  {{ name = "old"; plugin = "file"; path = "{old}"; rebase = false; loop = false; }}
);
policies = ( {{ name = "lookahead"; plugin = "max"; lead_time = "5m"; }} );
workloads = (
  {{ match = "stale-fb-*"; source = "old"; policy = "lookahead"; fallback_replicas = 3;
     on_stale = "inactive"; }},
  {{ match = "stale-*"; source = "old"; policy = "lookahead"; }},
  {{ match = "web"; source = "live"; policy = "lookahead"; }},
  {{ match = "*-api"; source = "live"; policy = "lookahead"; }},
  {{ match = "*-app"; source = "live"; policy = "lookahead"; }}
);
"""


class DaemonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = os.path.join(WORK, "daemon-test")
        os.makedirs(d, exist_ok=True)
        cls.d = Daemon(config(d), name="main")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        assert rc == 0, f"daemon exit code {rc}\n{cls.d.log()}"

    def assertStatus(self, ctx, code, *fragments):
        err = ctx.exception
        self.assertEqual(err.code(), code, err.details())
        for f in fragments:
            self.assertIn(f, err.details())

    # -- GetMetricSpec -----------------------------------------------------------------------
    def test_metric_spec_default_name(self):
        r = self.d.get_metric_spec(self.d.ref("web"))
        self.assertEqual(len(r.metricSpecs), 1)
        s = r.metricSpecs[0]
        self.assertEqual(s.metricName, "kedastral-web-desired-replicas")
        self.assertEqual(s.targetSize, 1)
        self.assertEqual(s.targetSizeFloat, 1.0)

    def test_metric_spec_metadata(self):
        r = self.d.get_metric_spec(self.d.ref("so", workload="web", metricName="my-metric"))
        self.assertEqual([s.metricName for s in r.metricSpecs], ["my-metric"])
        r = self.d.get_metric_spec(self.d.ref("so", workload="edge-api"))
        self.assertEqual(r.metricSpecs[0].metricName, "kedastral-edge-api-desired-replicas")

    def test_metric_spec_answers_without_route_or_data(self):
        # KEDA's fallback never fires if GetMetricSpec fails, so it must always answer.
        r = self.d.get_metric_spec(self.d.ref("no-route-here"))
        self.assertEqual(r.metricSpecs[0].metricName, "kedastral-no-route-here-desired-replicas")

    # -- GetMetrics --------------------------------------------------------------------------
    def test_get_metrics_window_max(self):
        r = self.d.get_metrics(self.d.ref("web"), "kedastral-web-desired-replicas")
        self.assertEqual(len(r.metricValues), 1)
        v = r.metricValues[0]
        self.assertEqual(v.metricName, "kedastral-web-desired-replicas")
        self.assertEqual(v.metricValue, 5)
        self.assertEqual(v.metricValueFloat, 5.0)

    def test_get_metrics_window_is_inclusive(self):
        r = self.d.get_metrics(self.d.ref("x", workload="edge-api"), "whatever-name")
        self.assertEqual(r.metricValues[0].metricName, "whatever-name")  # echoed verbatim
        self.assertEqual(r.metricValues[0].metricValue, 7)

    def test_get_metrics_empty_series_is_one(self):
        r = self.d.get_metrics(self.d.ref("empty-app"), "m")
        self.assertEqual(r.metricValues[0].metricValueFloat, 1.0)

    def test_get_metrics_bad_step_is_an_error_not_a_crash(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.d.get_metrics(self.d.ref("nostep-app"), "m")
        self.assertStatus(ctx, grpc.StatusCode.UNAVAILABLE, "nostep-app")
        # still alive
        self.assertEqual(self.d.get_metrics(self.d.ref("web"), "m").metricValues[0].metricValue, 5)

    def test_get_metrics_unknown_workload_in_source(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.d.get_metrics(self.d.ref("ghost-api"), "m")
        self.assertStatus(ctx, grpc.StatusCode.NOT_FOUND, "ghost-api")

    def test_get_metrics_no_route(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.d.get_metrics(self.d.ref("unrouted"), "m")
        self.assertStatus(ctx, grpc.StatusCode.NOT_FOUND, "unrouted")

    def test_get_metrics_stale_is_unavailable(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.d.get_metrics(self.d.ref("stale-app"), "m")
        self.assertStatus(ctx, grpc.StatusCode.UNAVAILABLE, "stale-app")

    def test_get_metrics_stale_with_fallback_replicas(self):
        r = self.d.get_metrics(self.d.ref("stale-fb-app"), "m")
        self.assertEqual(r.metricValues[0].metricValue, 3)
        self.assertEqual(r.metricValues[0].metricValueFloat, 3.0)

    def test_get_metrics_without_ref_is_invalid(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.d.unary(SERVICE + "GetMetrics", es.GetMetricsRequest(metricName="m"),
                         es.GetMetricsResponse)
        self.assertStatus(ctx, grpc.StatusCode.INVALID_ARGUMENT)

    # -- IsActive ----------------------------------------------------------------------------
    def test_is_active(self):
        self.assertTrue(self.d.is_active(self.d.ref("web")).result)
        self.assertTrue(self.d.is_active(self.d.ref("so", workload="edge-api")).result)

    def test_is_active_stale_is_an_error(self):
        # A dead forecaster must not scale anything to zero: KEDA keeps the replicas and the
        # ScaledObject's fallback applies (on_stale = "inactive" restores upstream's false).
        with self.assertRaises(grpc.RpcError) as ctx:
            self.d.is_active(self.d.ref("stale-app"))
        self.assertStatus(ctx, grpc.StatusCode.UNAVAILABLE)
        self.assertIn("forecast for stale-app is stale", ctx.exception.details())

    def test_is_active_on_stale_inactive_is_false(self):
        # on_stale = "inactive" on the route: upstream's false instead of an error.
        self.assertFalse(self.d.is_active(self.d.ref("stale-fb-app")).result)

    def test_is_active_unknown_workload_is_not_found(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.d.is_active(self.d.ref("ghost-api"))
        self.assertStatus(ctx, grpc.StatusCode.NOT_FOUND)

    # -- StreamIsActive ----------------------------------------------------------------------
    def test_stream_is_active_first_message_then_cancel(self):
        stream = self.d.stream_is_active(self.d.ref("web"))
        first = next(stream)
        self.assertTrue(first.result)
        stream.cancel()
        with self.assertRaises(grpc.RpcError) as ctx:
            next(stream)
        self.assertEqual(ctx.exception.code(), grpc.StatusCode.CANCELLED)
        # the server freed the call and keeps answering on the same connection
        self.assertTrue(self.d.is_active(self.d.ref("web")).result)

    def test_stream_is_active_inactive_sends_nothing(self):
        stream = self.d.stream_is_active(self.d.ref("stale-app"))
        got = queue.Queue()

        def reader():
            try:
                for m in stream:
                    got.put(m.result)
            except grpc.RpcError as e:
                got.put(e.code())

        threading.Thread(target=reader, daemon=True).start()
        with self.assertRaises(queue.Empty):
            got.get(timeout=1.5)  # KEDA ignores false; we must not send it either
        stream.cancel()
        self.assertEqual(got.get(timeout=5), grpc.StatusCode.CANCELLED)

    def test_stream_metric_spec_unimplemented(self):
        call = self.d.channel.unary_stream(SERVICE + "StreamMetricSpec",
                                           request_serializer=lambda m: m.SerializeToString(),
                                           response_deserializer=es.GetMetricSpecResponse.FromString)
        with self.assertRaises(grpc.RpcError) as ctx:
            next(call(self.d.ref("web"), timeout=5))
        self.assertStatus(ctx, grpc.StatusCode.UNIMPLEMENTED,
                          "unknown method StreamMetricSpec for service externalscaler.ExternalScaler")

    # -- transport-level bad input against the real daemon -------------------------------------
    def test_unknown_service(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.d.unary("/nope.Nope/Call", b"", None, raw=True)
        self.assertStatus(ctx, grpc.StatusCode.UNIMPLEMENTED, "unknown service nope.Nope")

    def test_malformed_protobuf(self):
        with self.assertRaises(grpc.RpcError) as ctx:
            self.d.unary(SERVICE + "IsActive", b"\x0a\xff\xff\xff", None, raw=True)
        self.assertStatus(ctx, grpc.StatusCode.INVALID_ARGUMENT)

    def test_oversize_request(self):
        big = self.d.ref("web", blob="x" * (5 * 1024 * 1024))
        with self.assertRaises(grpc.RpcError) as ctx:
            self.d.is_active(big)
        self.assertStatus(ctx, grpc.StatusCode.RESOURCE_EXHAUSTED, "larger than max")
        self.assertTrue(self.d.is_active(self.d.ref("web")).result)

    def test_grpc_timeout_header_is_accepted(self):
        # A deadline the daemon can easily meet: the answer arrives, status OK.
        self.assertTrue(self.d.is_active(self.d.ref("web"), timeout=3.0).result)

    def test_bad_content_type_with_nghttp(self):
        body = os.path.join(WORK, "isactive.bin")
        msg = self.d.ref("web").SerializeToString()
        with open(body, "wb") as f:
            f.write(b"\x00" + len(msg).to_bytes(4, "big") + msg)
        out = subprocess.run(
            ["nghttp", "-v", "-H", ":method: POST", "-H", "content-type: text/plain",
             "-d", body, f"http://{self.d.addr}{SERVICE}IsActive"],
            capture_output=True, text=True, timeout=20).stdout
        self.assertIn(":status: 415", out)
        self.assertIn("grpc-status: 3", out)

    def test_get_method_with_nghttp(self):
        out = subprocess.run(["nghttp", "-v", "-H", "content-type: application/grpc",
                              f"http://{self.d.addr}{SERVICE}IsActive"],
                             capture_output=True, text=True, timeout=20).stdout
        self.assertIn(":status: 405", out)

    def test_many_concurrent_calls_on_one_connection(self):
        futures = []
        call = self.d.channel.unary_unary(SERVICE + "GetMetrics",
                                          request_serializer=lambda m: m.SerializeToString(),
                                          response_deserializer=es.GetMetricsResponse.FromString)
        req = es.GetMetricsRequest(scaledObjectRef=self.d.ref("web"), metricName="m")
        for _ in range(500):
            futures.append(call.future(req, timeout=30))
        self.assertEqual({f.result().metricValues[0].metricValue for f in futures}, {5})

    # -- health and reflection -----------------------------------------------------------------
    def test_health_check(self):
        check = "/grpc.health.v1.Health/Check"
        for name in ("", "externalscaler.ExternalScaler"):
            r = self.d.unary(check, health_pb2.HealthCheckRequest(service=name),
                             health_pb2.HealthCheckResponse)
            self.assertEqual(r.status, health_pb2.HealthCheckResponse.SERVING)
        with self.assertRaises(grpc.RpcError) as ctx:
            self.d.unary(check, health_pb2.HealthCheckRequest(service="nope"),
                         health_pb2.HealthCheckResponse)
        self.assertStatus(ctx, grpc.StatusCode.NOT_FOUND)

    def test_reflection_lists_services(self):
        for mod, path in ((refl_v1, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
                          (refl_v1alpha,
                           "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")):
            call = self.d.channel.stream_stream(
                path, request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=mod.ServerReflectionResponse.FromString)
            resp = next(call(iter([mod.ServerReflectionRequest(list_services="*")]), timeout=10))
            names = {s.name for s in resp.list_services_response.service}
            self.assertIn("externalscaler.ExternalScaler", names)
            self.assertIn("grpc.health.v1.Health", names)


class TooLargeToKeepTest(unittest.TestCase):
    """A forecast the parser admits but the cache cannot pack (a metric name of 65,534 bytes)
    is refused whole with a message that says so, not as "out of memory"."""

    def test_long_metric_name(self):
        path = os.path.join(WORK, "long-metric.json")
        doc = forecast("w", [3, 3, 3], NOW)
        doc["metric"] = "m" * 65534
        with open(path, "w") as f:
            json.dump(doc, f)
        d = Daemon(f"""
sources = ( {{ name = "f"; plugin = "file"; path = "{path}"; }} );
policies = ( {{ name = "p"; plugin = "max"; lead_time = "1m"; }} );
workloads = ( {{ match = "*"; source = "f"; policy = "p"; }} );
""", name="long-metric")
        try:
            with self.assertRaises(grpc.RpcError) as cm:
                d.get_metrics(d.ref("so", workload="w"), "m", timeout=10)
            self.assertEqual(cm.exception.code(), grpc.StatusCode.UNAVAILABLE)
            self.assertIn("forecast too large to keep", cm.exception.details())
        finally:
            self.assertEqual(d.stop(), 0, d.log())


class LifecycleTest(unittest.TestCase):
    def test_sigterm_ends_streams_with_ok_and_exits_zero(self):
        d = os.path.join(WORK, "lifecycle")
        os.makedirs(d, exist_ok=True)
        daemon = Daemon(config(d), name="life")
        try:
            stream = daemon.stream_is_active(daemon.ref("web"))
            self.assertTrue(next(stream).result)
            daemon.proc.send_signal(signal.SIGTERM)
            # status OK ends the iteration without an exception (KEDA reconnects in 2 s)
            self.assertEqual(list(stream), [])
            self.assertEqual(stream.code(), grpc.StatusCode.OK)
            self.assertEqual(daemon.proc.wait(20), 0)
        finally:
            daemon.stop()


class CliTest(unittest.TestCase):
    def write(self, name, text):
        d = os.path.join(WORK, "cli")
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def test_version_and_help(self):
        r = run_cli(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("kedastral-scaler", r.stdout)
        r = run_cli(["-help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("--lead-time", r.stdout)

    def test_unknown_flag_exits_2(self):
        r = run_cli(["--no-such-flag"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("unknown flag", r.stderr)

    def test_bad_lead_time_flag(self):
        r = run_cli(["--lead-time", "5 minutes"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("not a duration", r.stderr)

    def test_bad_lead_time_env_is_ignored_with_a_word(self):
        # Upstream silently falls back to 5m on an invalid LEAD_TIME; we fall back and say so.
        conf = os.path.join(os.environ["KD_SOURCE_DIR"], "etc", "kedastral-scaler.conf")
        r = run_cli(["--check-config", "--config", conf, "--plugin-dir",
                     os.environ["KD_PLUGIN_DIR"]], env={"LEAD_TIME": "5 minutes"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('ignoring LEAD_TIME="5 minutes"', r.stderr)

    def test_bad_bool_flag(self):
        r = run_cli(["--tls-enabled=maybe"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("write true or false", r.stderr)

    def test_flag_without_value(self):
        r = run_cli(["--config"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("needs a value", r.stderr)

    def test_missing_config_file(self):
        r = run_cli(["--check-config", "--config", "/nonexistent/kd.conf"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/kd.conf", r.stderr)

    def test_check_config_ok(self):
        d = os.path.join(WORK, "cli-ok")
        os.makedirs(d, exist_ok=True)
        p = self.write("ok.conf", config(d))
        r = run_cli(["--check-config", "--config", p, "--plugin-dir", os.environ["KD_PLUGIN_DIR"]])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration OK", r.stdout)

    def test_shipped_config_checks(self):
        conf = os.path.join(os.environ["KD_SOURCE_DIR"], "etc", "kedastral-scaler.conf")
        r = run_cli(["--check-config", "--config", conf, "--plugin-dir",
                     os.environ["KD_PLUGIN_DIR"]])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_check_config_errors_name_file_and_line(self):
        cases = [
            ('listen = "0.0.0.0:1";\nlisen = "x";\n', ":2:", "lisen"),
            ('sources = ( { name = "s"; plugin = "file"; path = "/x.json"; } );\n'
             'policies = ( { name = "p"; plugin = "max"; } );\n'
             'workloads = ( { match = "*"; source = "dmeo"; policy = "p"; } );\n', ":3:", "dmeo"),
            ('sources = (\n { name = "s"; plugin = "file"; pth = "/x.json"; } );\n'
             'policies = ( { name = "p"; plugin = "max"; } );\n'
             'workloads = ( { match = "*"; source = "s"; policy = "p"; } );\n', ":2:", "pth"),
            ('listen = "0.0.0.0:1"\nplugin_dir = ;\n', ":2", ""),
        ]
        for i, (text, where, what) in enumerate(cases):
            p = self.write(f"bad{i}.conf", text)
            r = run_cli(["--check-config", "--config", p, "--plugin-dir",
                         os.environ["KD_PLUGIN_DIR"]])
            self.assertNotEqual(r.returncode, 0, text)
            self.assertIn(p + where, r.stderr, r.stderr)
            self.assertIn(what, r.stderr)

    def test_upstream_mode_without_http_plugin_fails_clearly(self):
        # No --config: upstream mode needs source-http.so; without it: one clear line, exit 1.
        empty = os.path.join(WORK, "empty-plugins")
        os.makedirs(empty, exist_ok=True)
        r = run_cli(["--check-config", "--plugin-dir", empty])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("source-http.so", r.stderr)
        self.assertNotIn("Sanitizer", r.stderr)

    def test_describe(self):
        r = run_cli(["--describe", "policy-max", "--plugin-dir", os.environ["KD_PLUGIN_DIR"]])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("lead_time", r.stdout)
        r = run_cli(["--describe", "source-file", "--plugin-dir", os.environ["KD_PLUGIN_DIR"]])
        self.assertEqual(r.returncode, 0, r.stderr)
        for opt in ("path", "rebase", "loop"):
            self.assertIn(opt, r.stdout)
        r = run_cli(["--describe", "source-nope", "--plugin-dir", os.environ["KD_PLUGIN_DIR"]])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("source-nope.so", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
