# SPDX-License-Identifier: Apache-2.0
"""Predictive semantics end to end: the real daemon, the real plugins, the stub forecaster and
python3-grpcio (an independent gRPC stack). Staleness that fails safe, GetMetricSpec that never
fails, trigger-metadata overrides within the operator's bounds, shadow mode, strict names and
forecasts, and the cache bounded against any client.

Assertions are on codes, messages and counts. Where time matters the forecasts use 1 s steps and
waits are generous; what is asserted is an order of events (a push arrived with no call in
between, never before demand entered the window), not a duration."""
import json
import os
import re
import threading
import time
import unittest

import grpc

from daemon import Daemon, SERVICE, Stub, es, http_get, WORK

ROUTES = """
  { match = "lead0-*"; source = "fc"; policy = "now"; },
  { match = "old-*"; source = "fc"; policy = "p"; stale_after = "2s"; },
  { match = "inactive-*"; source = "fc"; policy = "p"; stale_after = "2s";
     on_stale = "inactive"; },
  { match = "shadow-*"; source = "fc"; policy = "p"; mode = "shadow"; },
  { match = "open-*"; source = "fc"; policy = "p";
     overrides = ["leadTime", "policy", "staleAfter", "fallbackReplicas", "activation",
                  "activationLeadTime", "mode"];
     lead_time_max = "10m"; stale_after_max = "1h"; },
  { match = "demand-*"; source = "fc"; policy = "now"; activation = "demand";
     activation_lead = "1s"; stale_after = "1m"; },
  { match = "q-*"; source = "fc"; policy = "p90"; },
  { match = "*"; source = "fc"; policy = "p"; }
"""


def config(url, refresh="1h", extra=""):
    return f"""
log_level = "debug";
{extra}
sources = ( {{ name = "fc"; plugin = "http"; url = "{url}"; refresh = "{refresh}";
               timeout = "1500ms"; }} );
policies = ( {{ name = "p"; plugin = "max"; lead_time = "5m"; }},
             {{ name = "now"; plugin = "max"; lead_time = "0s"; }},
             {{ name = "p90"; plugin = "quantile"; lead_time = "9m"; quantile = 0.9; }} );
workloads = ({ROUTES});
"""


def code_of(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code(), e.details()
    return grpc.StatusCode.OK, ""


def samples(text):
    out = {}
    rx = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
    for line in text.splitlines():
        if line and not line.startswith("#"):
            m = rx.match(line)
            labels = frozenset(re.findall(r'([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def raw_ref(name_bytes, metadata=()):
    """A packed ScaledObjectRef written by hand: python-protobuf refuses invalid UTF-8 and
    would keep a NUL, but to be sure of the bytes on the wire nothing encodes them for us."""
    def field(num, data):
        n, out = len(data), bytearray([num << 3 | 2])
        while n >= 0x80:
            out.append(n & 0x7f | 0x80)
            n >>= 7
        out.append(n)
        return bytes(out) + data
    out = field(1, name_bytes)
    for k, v in metadata:
        out += field(3, field(1, k) + field(2, v))
    return out


class PredictiveTest(unittest.TestCase):
    """One daemon, one stub; each test uses its own workload names."""

    @classmethod
    def setUpClass(cls):
        cls.stub = Stub({"*": {"mode": "fresh", "desiredReplicas": [2, 3, 7, 4],
                               "stepSeconds": 60}})
        cls.d = Daemon(config(cls.stub.url), name="predictive")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.stub.stop()
        assert rc == 0, f"daemon exit code {rc}\n{cls.d.log()}"

    def value(self, workload, **metadata):
        r = self.d.get_metrics(self.d.ref("so", workload=workload, **metadata), "m")
        return r.metricValues[0].metricValueFloat

    def metrics(self):
        status, _, text = http_get(self.d.http_port, "/metrics")
        self.assertEqual(status, 200)
        return samples(text)

    # -- staleness that fails safe ---------------------------------------------------------
    def test_lead_time_zero_answers_first_step(self):
        # stale_after defaults to 2 x max(lead, step): lead "0s" is not stale at once.
        self.assertEqual(self.value("lead0-a"), 2.0)
        self.assertTrue(self.d.is_active(self.d.ref("lead0-a")).result)

    def test_stale_is_an_error_for_is_active(self):
        self.stub.control({"old-a": {"mode": "fresh", "age": 30, "desiredReplicas": [2, 3]}})
        code, details = code_of(lambda: self.d.is_active(self.d.ref("old-a")))
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, details)
        self.assertRegex(details, r"^forecast for old-a is stale: generated 3\d(\.\d+)?s ago, "
                                  r"stale_after is 2s$")
        code, details = code_of(lambda: self.value("old-a"))
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, details)

    def test_on_stale_inactive_is_false(self):
        self.stub.control({"inactive-a": {"mode": "fresh", "age": 30}})
        self.assertFalse(self.d.is_active(self.d.ref("inactive-a")).result)
        # unknown to the source: false as well, with that route option
        self.stub.control({"inactive-b": {"mode": "404"}})
        self.assertFalse(self.d.is_active(self.d.ref("inactive-b")).result)

    def test_unknown_workload_is_not_found(self):
        self.stub.control({"ghost-a": {"mode": "404"}})
        code, details = code_of(lambda: self.d.is_active(self.d.ref("ghost-a")))
        self.assertEqual(code, grpc.StatusCode.NOT_FOUND, details)
        self.assertIn('ghost-a', details)

    def test_failing_source_is_unavailable(self):
        self.stub.control({"down-a": {"mode": "500"}})
        code, details = code_of(lambda: self.d.is_active(self.d.ref("down-a")))
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE, details)
        self.assertIn("500", details)

    # -- GetMetricSpec never fails ---------------------------------------------------------
    def test_metric_spec_ok_whatever_the_metadata_or_source(self):
        self.stub.control({"spec-down": {"mode": "500"}, "spec-ghost": {"mode": "404"}})
        for workload, meta in (("spec-down", {}), ("spec-ghost", {}),
                               ("open-spec", {"leadTime": "banana"}),
                               ("plain-spec", {"leadTime": "5m"}),  # not allowed there
                               ("open-spec", {"policy": "nosuch", "mode": "loud"}),
                               ("nomatch.example", {})):
            r = self.d.get_metric_spec(self.d.ref("so", workload=workload, **meta))
            self.assertEqual(r.metricSpecs[0].metricName,
                             f"kedastral-{workload}-desired-replicas")
            self.assertEqual(r.metricSpecs[0].targetSizeFloat, 1.0)
        r = self.d.unary(SERVICE + "GetMetricSpec",
                         raw_ref(b"so", [(b"workload", b"open-nul"), (b"leadTime", b"5m\0x")]),
                         es.GetMetricSpecResponse, raw=True)
        self.assertEqual(r.metricSpecs[0].metricName, "kedastral-open-nul-desired-replicas")

    # -- overrides -------------------------------------------------------------------------
    def test_override_refused_where_not_allowed(self):
        ref = self.d.ref("so", workload="plain-a", leadTime="90s")
        for call in (lambda: self.d.get_metrics(ref, "m"), lambda: self.d.is_active(ref)):
            code, details = code_of(call)
            self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT, details)
            self.assertEqual(details, 'scalerMetadata "leadTime" is not allowed by route "*"; '
                                      "it allows: none (the operator lists keys in the route's "
                                      "overrides = [...])")
        # keys that are not overrides are ignored, as upstream
        self.assertEqual(self.value("plain-a", scalerAddress="x:1", somethingElse="y"), 7.0)

    def test_override_malformed_and_out_of_bounds(self):
        cases = (
            ({"leadTime": "banana"}, 'scalerMetadata "leadTime": "banana" is not a duration; '
                                     'write e.g. "90s", "5m", "1h"'),
            ({"leadTime": "-1m"}, 'scalerMetadata "leadTime": "-1m" is out of range; allowed: '
                                  "0s to 10m (lead_time_max)"),
            ({"leadTime": "11m"}, 'scalerMetadata "leadTime": "11m" is out of range; allowed: '
                                  "0s to 10m (lead_time_max)"),
            ({"staleAfter": "2h"}, 'scalerMetadata "staleAfter": "2h" is out of range; allowed: '
                                   "1ms to 1h (stale_after_max)"),
            ({"fallbackReplicas": "lots"}, 'scalerMetadata "fallbackReplicas": "lots" is not an '
                                           "integer; allowed: 0 to 2147483647"),
            ({"activation": "always"}, 'scalerMetadata "activation": unknown value "always"; '
                                       "allowed: fresh, demand"),
            ({"mode": "dry-run"}, 'scalerMetadata "mode": unknown value "dry-run"; allowed: '
                                  "active, shadow"),
            ({"policy": "p99"}, 'scalerMetadata "policy": unknown policy "p99"; configured: p, '
                                "now, p90"),
        )
        for meta, message in cases:
            code, details = code_of(lambda: self.value("open-bad", **meta))
            self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT, meta)
            self.assertEqual(details, message)
            code, details = code_of(lambda: self.d.is_active(self.d.ref("so", workload="open-bad",
                                                                        **meta)))
            self.assertEqual((code, details), (grpc.StatusCode.INVALID_ARGUMENT, message))

    def test_refusal_logged_once_per_workload_and_change(self):
        ref = self.d.ref("so", workload="open-log", leadTime="banana")
        for _ in range(10):
            code_of(lambda: self.d.get_metrics(ref, "m"))
            code_of(lambda: self.d.is_active(ref))
        ref2 = self.d.ref("so", workload="open-log", leadTime="99h")
        for _ in range(5):
            code_of(lambda: self.d.get_metrics(ref2, "m"))
        # the log is read by a thread: wait until the second change is there, then count
        self.assertIsNotNone(self.d.wait_for(r'open-log: trigger metadata refused.*"99h"', 10))
        lines = [l for l in self.d.log().splitlines()
                 if "workload open-log: trigger metadata refused" in l]
        self.assertEqual(len(lines), 2, "\n".join(lines))
        self.assertIn('"banana" is not a duration', lines[0])
        self.assertIn('"99h" is out of range', lines[1])

    def test_override_allowed(self):
        self.stub.control({"open-ok": {"mode": "fresh", "age": 30, "desiredReplicas": [2, 3]}})
        # staleAfter 2s: this 30 s old forecast is stale; fallbackReplicas answers for it
        self.assertEqual(self.value("open-ok", staleAfter="2s", fallbackReplicas="6"), 6.0)
        code, _ = code_of(lambda: self.value("open-ok", staleAfter="2s"))
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE)
        # the route's default (2 x 5m) keeps it fresh
        self.assertEqual(self.value("open-ok"), 3.0)
        # mode: shadow from metadata
        self.assertEqual(self.value("open-ok", mode="shadow"), 0.0)
        self.assertFalse(self.d.is_active(self.d.ref("so", workload="open-ok",
                                                     mode="shadow")).result)

    # -- shadow mode -----------------------------------------------------------------------
    def test_shadow_answers_zero_and_exports_the_would_be_value(self):
        self.assertEqual(self.value("shadow-a"), 0.0)
        self.assertFalse(self.d.is_active(self.d.ref("shadow-a")).result)
        s = self.metrics()
        self.assertEqual(s[("kedastral_scaler_workload_desired_replicas",
                            frozenset({("workload", "shadow-a"), ("mode", "shadow")}))], 7.0)
        self.assertNotIn(("kedastral_scaler_workload_desired_replicas",
                          frozenset({("workload", "shadow-a"), ("mode", "active")})), s)
        self.assertEqual(self.value("plain-shadowcmp"), 7.0)
        s = self.metrics()
        self.assertEqual(s[("kedastral_scaler_workload_desired_replicas",
                            frozenset({("workload", "plain-shadowcmp"), ("mode", "active")}))],
                         7.0)
        # a stale or failing source in shadow: still 0 / false, never an error
        self.stub.control({"shadow-down": {"mode": "500"}})
        self.assertEqual(self.value("shadow-down"), 0.0)
        self.assertFalse(self.d.is_active(self.d.ref("shadow-down")).result)

    # -- strict input ----------------------------------------------------------------------
    def test_names_with_nul_bad_utf8_or_too_long_are_refused(self):
        cases = (
            (raw_ref(b"demo-api\0evil"),
             "workload name (ScaledObjectRef name) contains a NUL byte at offset 8"),
            (raw_ref(b"so", [(b"workload", b"demo-api\0evil")]),
             'workload name (scalerMetadata "workload") contains a NUL byte at offset 8'),
            (raw_ref(b"web\xff"),
             "workload name (ScaledObjectRef name) is not valid UTF-8 (byte 0xff at offset 3)"),
            (raw_ref(b"a" * 254),
             "workload name (ScaledObjectRef name) is 254 bytes long; at most 253 are allowed"),
        )
        before = len(self.stub.seen())
        for msg, message in cases:
            for method, resp in (("IsActive", es.IsActiveResponse),
                                 ("GetMetricSpec", es.GetMetricSpecResponse)):
                code, details = code_of(lambda: self.d.unary(SERVICE + method, msg, resp,
                                                             raw=True))
                self.assertEqual((code, details), (grpc.StatusCode.INVALID_ARGUMENT, message))
            req = b"\x0a" + bytes([len(msg)]) + msg if len(msg) < 128 else None
            if req:
                code, details = code_of(lambda: self.d.unary(SERVICE + "GetMetrics", req,
                                                             es.GetMetricsResponse, raw=True))
                self.assertEqual((code, details), (grpc.StatusCode.INVALID_ARGUMENT, message))
        # nothing reached the forecaster, truncated or not
        self.assertEqual(self.stub.seen()[before:], [])
        # 253 bytes is fine
        self.assertEqual(self.value("a" * 253), 7.0)

    def test_forecast_for_another_workload_is_rejected(self):
        self.stub.control({"claim-a": {"mode": "fresh", "claim": "demo-api"}})
        code, details = code_of(lambda: self.value("claim-a"))
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(details, 'no forecast for claim-a yet: rejected a forecast for workload '
                                  '"demo-api" (asked for "claim-a")')

    def test_forecast_from_the_future_is_rejected(self):
        self.stub.control({"future-a": {"mode": "fresh", "age": -3600},
                           "future-b": {"mode": "fresh", "age": -60, "desiredReplicas": [7]}})
        code, details = code_of(lambda: self.value("future-a"))
        self.assertEqual(code, grpc.StatusCode.UNAVAILABLE)
        self.assertRegex(details, r"^no forecast for future-a yet: rejected a forecast generated "
                                  r"\S+ in the future \(clock skew allowance 5m\)$")
        self.assertEqual(self.value("future-b"), 7.0)  # within the allowance


class CacheBoundsTest(unittest.TestCase):
    """The cache refreshes only what is asked about, forgets unknown names, caps entries."""

    @classmethod
    def setUpClass(cls):
        cls.stub = Stub({"*": {"mode": "fresh", "desiredReplicas": [2, 3]}})
        cls.d = Daemon(config(cls.stub.url, refresh="200ms",
                              extra="limits = { max_workloads = 50; };"), name="cache")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.stub.stop()
        assert rc == 0, f"daemon exit code {rc}\n{cls.d.log()}"

    def test_unknown_names_are_not_refetched_in_the_background(self):
        names = [f"nf-{i}" for i in range(30)]
        self.stub.control({n: {"mode": "404"} for n in names})
        for n in names:
            code, _ = code_of(lambda: self.d.get_metrics(self.d.ref(n), "m"))
            self.assertEqual(code, grpc.StatusCode.NOT_FOUND)
        self.assertEqual(sum(self.stub.count(n) for n in names), 30)
        time.sleep(3)  # fifteen refresh periods with no gRPC traffic for them
        self.assertEqual(sum(self.stub.count(n) for n in names), 30)

    def test_unasked_entry_goes_idle(self):
        self.d.get_metrics(self.d.ref("idle-a"), "m")
        time.sleep(3)  # fifteen refresh periods, asked once
        # the first fetch and at most the refreshes within 2 x refresh of that ask
        self.assertLessEqual(self.stub.count("idle-a"), 3)
        n = self.stub.count("idle-a")
        self.d.get_metrics(self.d.ref("idle-a"), "m")  # asked again: one refresh at once
        deadline = time.monotonic() + 10  # the refresh runs after the answer: wait for it
        while self.stub.count("idle-a") < n + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.stub.count("idle-a"), n + 1)

    def test_max_workloads_evicts_least_recently_asked(self):
        for i in range(80):
            self.d.get_metrics(self.d.ref(f"many-{i}"), "m")
        status, _, text = http_get(self.d.http_port, "/metrics")
        s = samples(text)
        self.assertLessEqual(s[("kedastral_scaler_cache_entries", frozenset())], 50)
        self.assertGreaterEqual(s[("kedastral_scaler_cache_evictions_total",
                                   frozenset({("reason", "capacity")}))], 30)


class StreamCollector:
    """Reads a StreamIsActive stream on a thread: (monotonic time, wall time, result) per message."""

    def __init__(self, daemon, ref):
        self.stream = daemon.stream_is_active(ref)
        self.messages = []
        self.done = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            for m in self.stream:
                self.messages.append((time.monotonic(), time.time(), m.result))
        except grpc.RpcError:
            pass
        self.done.set()

    def wait_for(self, n, timeout):
        deadline = time.monotonic() + timeout
        while len(self.messages) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.messages) >= n

    def cancel(self):
        self.stream.cancel()
        self.done.wait(5)


class WindowAndActivationTest(unittest.TestCase):
    """The window anchored at now, per-ScaledObject lead times from one fetch, quantile, and
    activation ahead of demand with 1 s steps (http and file sources)."""

    @classmethod
    def setUpClass(cls):
        cls.stub = Stub({"*": {"mode": "fresh", "desiredReplicas": [1, 2, 3, 4, 5, 6, 7, 8]}})
        # refresh 1h: nothing is refetched during a test, so a push can only come from the
        # activation timer
        cls.d = Daemon(config(cls.stub.url), name="activation")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.stub.stop()
        assert rc == 0, f"daemon exit code {rc}\n{cls.d.log()}"

    def value(self, workload, **metadata):
        r = self.d.get_metrics(self.d.ref("so", workload=workload, **metadata), "m")
        return r.metricValues[0].metricValueFloat

    def test_aged_forecast_skips_passed_steps(self):
        # 90 s old with 60 s steps: the plan for the first minute (9) has passed; lead 5m looks
        # at indexes 1..6. Upstream would answer 9.
        self.stub.control({"aged-a": {"mode": "fresh", "age": 90,
                                      "desiredReplicas": [9, 1, 2, 3, 1, 2, 1, 8]}})
        self.assertEqual(self.value("aged-a"), 3.0)
        # lead 0: the current step alone (index 1 at 90 s); stale_after is 2 x the 60 s step
        self.stub.control({"lead0-aged": {"mode": "fresh", "age": 90,
                                          "desiredReplicas": [9, 8, 7, 6]}})
        self.assertEqual(self.value("lead0-aged"), 8.0)

    def test_two_scaled_objects_different_lead_times_one_fetch(self):
        self.assertEqual(self.value("open-two", leadTime="0s"), 1.0)
        self.assertEqual(self.value("open-two", leadTime="3m"), 4.0)
        self.assertEqual(self.value("open-two"), 6.0)  # the route's policy: 5m
        self.assertEqual(self.value("open-two", leadTime="10m"), 8.0)
        self.assertEqual(self.value("open-two", policy="now"), 1.0)
        self.assertEqual(self.stub.count("open-two"), 1)

    def test_quantile_policy(self):
        spiky = [3, 4, 3, 40, 4, 5, 4, 3, 4, 5, 9]
        self.stub.control({"q-a": {"mode": "fresh", "desiredReplicas": spiky},
                           "open-q": {"mode": "fresh", "desiredReplicas": spiky}})
        self.assertEqual(self.value("q-a"), 5.0)  # 0.9 of ten steps ignores the 40
        self.assertEqual(self.value("open-q"), 40.0)  # max over 5m
        self.assertEqual(self.value("open-q", policy="p90"), 5.0)
        self.assertEqual(self.value("open-q", policy="p90", leadTime="0s"), 3.0)

    def test_is_active_turns_true_when_demand_enters_the_window(self):
        gen = time.time()
        # plans for gen+1s, gen+2s, ...: demand from index 3; activation_lead 1s puts it in the
        # activation window once the window starts at index 2, at gen + 2 s
        self.stub.control({"demand-a": {"mode": "fresh", "at": gen, "stepSeconds": 1,
                                        "desiredReplicas": [0, 0, 0, 4, 4, 4, 4, 4, 4, 4]}})
        first = self.d.is_active(self.d.ref("demand-a"))
        t_first = time.time()
        if t_first < gen + 2:  # (a machine stalled for 2 s would skip this half)
            self.assertFalse(first.result)
        became = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.d.is_active(self.d.ref("demand-a")).result:
                became = time.time()
                break
            time.sleep(0.05)
        self.assertIsNotNone(became, "IsActive never turned true")
        self.assertGreaterEqual(became, gen + 2)  # never before demand entered the window
        self.assertEqual(self.stub.count("demand-a"), 1)

    def test_stream_pushes_true_ahead_of_demand_without_a_call(self):
        gen = time.time()
        # demand from index 4 (the plan for gen + 5 s); it enters the 1 s activation window at
        # gen + 3 s, which is when the push is due
        self.stub.control({"demand-s": {"mode": "fresh", "at": gen, "stepSeconds": 1,
                                        "desiredReplicas": [0, 0, 0, 0, 6, 6, 6, 6, 6, 6]}})
        c = StreamCollector(self.d, self.d.ref("so", workload="demand-s"))
        try:
            # no client call of any kind from here on
            self.assertTrue(c.wait_for(1, 20), "no push arrived")
            mono, wall, result = c.messages[0]
            self.assertTrue(result)
            self.assertGreaterEqual(wall, gen + 3)  # not before demand entered the window
            time.sleep(1.5)
            self.assertEqual(len(c.messages), 1)  # edge-triggered: no repeated true
        finally:
            c.cancel()
        # one fetch: the push came from the timer, not from a refresh or a call
        self.assertEqual(self.stub.count("demand-s"), 1)
        self.assertIsNotNone(self.d.wait_for("workload=demand-s stream pushed active=true", 10))

    def test_stream_without_demand_arms_nothing(self):
        self.stub.control({"demand-none": {"mode": "fresh", "stepSeconds": 1,
                                           "desiredReplicas": [0, 0, 0, 0]}})
        c = StreamCollector(self.d, self.d.ref("so", workload="demand-none"))
        try:
            time.sleep(2)
            self.assertEqual(c.messages, [])
        finally:
            c.cancel()


class FileSourceActivationTest(unittest.TestCase):
    """stepSeconds 1 end to end through the file source (its recording rebased to load)."""

    def test_file_source_one_second_steps(self):
        d = os.path.join(WORK, "predictive-file")
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "steps.json")
        with open(path, "w") as f:
            json.dump([{"workload": "wake", "metric": "rps", "stepSeconds": 1,
                        "horizonSeconds": 30, "generatedAt": "2026-01-01T00:00:00Z",
                        "values": [0.0] * 30, "desiredReplicas": [0] * 3 + [5] * 27}], f)
        daemon = Daemon(f"""
sources = ( {{ name = "rec"; plugin = "file"; path = "{path}"; refresh = "1h"; }} );
policies = ( {{ name = "now"; plugin = "max"; lead_time = "0s"; }} );
workloads = ( {{ match = "*"; source = "rec"; policy = "now"; activation = "demand";
                 activation_lead = "1s"; stale_after = "1m"; }} );
""", name="predictive-file")
        try:
            c = StreamCollector(daemon, daemon.ref("wake"))
            try:
                self.assertTrue(c.wait_for(1, 20), "no push arrived")
                self.assertTrue(c.messages[0][2])
            finally:
                c.cancel()
            self.assertTrue(daemon.is_active(daemon.ref("wake")).result)
            # the push came a step ahead: the current step's plan is still 0, then 5
            deadline, got = time.monotonic() + 15, None
            while time.monotonic() < deadline and got != 5.0:
                got = daemon.get_metrics(daemon.ref("wake"), "m").metricValues[0].metricValueFloat
                time.sleep(0.05)
            self.assertEqual(got, 5.0)
        finally:
            self.assertEqual(daemon.stop(), 0, daemon.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
