# SPDX-License-Identifier: Apache-2.0
"""The daemon of the KD_ALLOC_FAIL build (ASan + LSan) with its allocations failing at random
once it listens, driven by python3-grpcio: every call gets an answer or a gRPC status, the
daemon never dies of it, a SIGHUP reload under failures either applies or is refused, and
SIGTERM ends it with status 0 and no sanitizer report (no leak). Several seeds, each
reproducible: KD_ALLOC_FAIL_SEED=s KD_ALLOC_FAIL_P=... KD_ALLOC_FAIL_FROM=n."""
import json
import os
import signal
import sys
import tempfile
import time
import unittest

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from daemon import Daemon, WORK, forecast, health_pb2  # noqa: E402

NOW = time.time()
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
P = os.environ.get("KD_ALLOC_FAIL_TEST_P", "0.03")
SEEDS = range(1, 1 + int(os.environ.get("KD_ALLOC_FAIL_TEST_SEEDS", "8")))


def config(dir_):
    live = os.path.join(dir_, "live.json")
    with open(live, "w") as f:
        json.dump([forecast("web", [2, 3, 4], NOW), forecast("edge-api", [1, 7], NOW)], f)
    return f"""
log_level = "debug";
sources = ( {{ name = "live"; plugin = "file"; path = "{live}"; }} );
policies = ( {{ name = "lookahead"; plugin = "max"; lead_time = "5m"; }} );
workloads = ( {{ match = "*"; source = "live"; policy = "lookahead"; }} );
"""


class DaemonAllocFailTest(unittest.TestCase):
    def start(self, env):
        full = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
                "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
        full.update(env)
        return Daemon(config(tempfile.mkdtemp(dir=WORK)), env=full, name="alloc-fail")

    def calls(self, d):
        """Every call: an answer or a status (a hang, DEADLINE_EXCEEDED, fails)."""
        codes = []
        for _ in range(4):
            for name, call in (
                    ("GetMetricSpec", lambda: d.get_metric_spec(d.ref("web"), timeout=20)),
                    ("GetMetrics", lambda: d.get_metrics(d.ref("web"), "m", timeout=20)),
                    ("IsActive", lambda: d.is_active(d.ref("edge-api"), timeout=20)),
                    ("IsActive", lambda: d.is_active(d.ref("unknown"), timeout=20)),
                    ("Check", lambda: d.unary("/grpc.health.v1.Health/Check",
                                              health_pb2.HealthCheckRequest(),
                                              health_pb2.HealthCheckResponse, timeout=20))):
                try:
                    call()
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as e:
                    self.assertNotEqual(e.code(), grpc.StatusCode.DEADLINE_EXCEEDED,
                                        f"{name} never answered:\n{d.log()}")
                    codes.append(e.code())
        return codes

    @staticmethod
    def report(path):
        """calls=C failed=F first=N as a dict."""
        with open(path) as f:
            return {k: int(v) for k, v in (w.split("=") for w in f.read().split())}

    def count_startup(self):
        """Allocations up to the listening line (and through a clean stop)."""
        report = os.path.join(tempfile.mkdtemp(dir=WORK), "count")
        d = self.start({"KD_ALLOC_FAIL_REPORT": report})
        self.assertEqual(d.stop(), 0, d.log())
        return self.report(report)["calls"]

    def test_random_failures(self):
        start = self.count_startup()
        self.assertGreater(start, 0)
        served = ok = failed = 0
        for seed in SEEDS:
            with self.subTest(seed=seed):
                report = os.path.join(tempfile.mkdtemp(dir=WORK), "count")
                env = {"KD_ALLOC_FAIL_P": P, "KD_ALLOC_FAIL_SEED": str(seed),
                       "KD_ALLOC_FAIL_FROM": str(start), "KD_ALLOC_FAIL_REPORT": report}
                try:
                    d = self.start(env)
                except RuntimeError as e:  # a failure late in start-up: a clean exit
                    self.assertNotIn("Sanitizer", str(e))
                    continue
                served += 1
                codes = self.calls(d)
                d.proc.send_signal(signal.SIGHUP)
                self.assertIsNotNone(
                    d.wait_for(r"reload: configuration applied|reload failed", 60), d.log())
                codes += self.calls(d)
                ok += codes.count(grpc.StatusCode.OK)
                self.assertIsNone(d.proc.poll(), f"died during the calls:\n{d.log()}")
                rc = d.stop(timeout=60)
                log = d.log()
                for mark in SANITIZER_MARKS:
                    self.assertNotIn(mark, log, f"seed {seed}:\n{log}")
                self.assertEqual(rc, 0, f"seed {seed}: exit {rc}:\n{log}")
                failed += self.report(report)["failed"]
        print(f"{start} allocations to start; {served} of {len(SEEDS)} daemons served, "
              f"{failed} allocations failed, {ok} calls answered OK", file=sys.stderr)
        # the failures happened, and the daemon kept answering between them
        self.assertGreater(served, 0)
        self.assertGreater(failed, 0)
        self.assertGreater(ok, 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
