"""No allocation on the hot path: a cached GetMetrics or IsActive call allocates nothing, in
the whole process (our code, nghttp2, libevent, protobuf-c, libc).

The daemon runs with an LD_PRELOAD shim (alloc_count.c) that counts every malloc, calloc,
realloc and aligned allocation and reports the running count on SIGUSR2. h2load (an
independent HTTP/2 client) sends batches of calls on one connection each; two batches that
differ only in their number of calls (1,000 and 11,000) must cost the same number of
allocations: what one connection costs, and nothing per call. Counts, never timings.

The shim counts epoll_ctl, writev, readv and ioctl(FIONREAD) too: a plaintext connection writes
its answers to the socket directly and reads its requests itself, so one call at a time
(h2load -m 1, KEDA's shape) costs no epoll_ctl, where handing the answer to the bufferevent cost
two (EV_WRITE armed, then disarmed once written), and no ioctl, where libevent's evbuffer_read
asked FIONREAD before every read."""
import os
import signal
import struct
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from daemon import Daemon, SERVICE, es, WORK  # noqa: E402

SHIM = os.environ.get("KD_ALLOC_COUNT")
RECORDING = os.path.join(os.environ["KD_SOURCE_DIR"], "etc", "forecasts", "demo.json")
CONFIG = f"""
sources = ( {{ name = "f"; plugin = "file"; path = "{RECORDING}"; refresh = "1h"; }} );
policies = ( {{ name = "p"; plugin = "max"; lead_time = "5m"; }} );
workloads = ( {{ match = "*"; source = "f"; policy = "p"; }} );
"""
SMALL, BIG = 1000, 11000
# What the 10,000 extra calls may allocate in all: far below one per call (10,000 before the
# request strings moved inline), above zero so a stray timer or log buffer does not flake.
SLACK = 50


def frame(msg):
    body = msg.SerializeToString()
    return b"\0" + struct.pack(">I", len(body)) + body


class AllocCountTest(unittest.TestCase):
    def setUp(self):
        if not SHIM:
            self.skipTest("KD_ALLOC_COUNT not set (sanitizer build)")
        self.count_file = os.path.join(WORK, f"alloc-count-{os.getpid()}-{id(self)}")
        self.d = Daemon(CONFIG, name="alloc",
                        env={"LD_PRELOAD": SHIM, "KD_ALLOC_COUNT_FILE": self.count_file})
        self.seq = 0

    def tearDown(self):
        self.d.stop()

    def counts(self):
        """The daemon's allocation, epoll_ctl, writev, readv and FIONREAD counts now (SIGUSR2,
        then the shim's next line)."""
        self.d.proc.send_signal(signal.SIGUSR2)
        self.seq += 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with open(self.count_file) as f:
                fields = f.read().split()
            if len(fields) == 6 and int(fields[0]) == self.seq:
                return tuple(int(x) for x in fields[1:])
            time.sleep(0.01)
        self.fail("the shim did not report")

    def count(self):
        return self.counts()[0]

    def h2load(self, method, body, n, m=10):
        path = os.path.join(self.d.dir, method + ".bin")
        with open(path, "wb") as f:
            f.write(body)
        out = subprocess.run(
            ["h2load", "-n", str(n), "-c", "1", "-m", str(m), "-d", path,
             "-H", "content-type: application/grpc", "-H", "te: trailers",
             f"http://{self.d.addr}{SERVICE}{method}"],
            capture_output=True, text=True, timeout=120)
        self.assertIn(f"{n} succeeded", out.stdout, out.stdout + out.stderr)

    def per_batch(self, method, body):
        self.h2load(method, body, 200)  # warm-up: the forecast cached, free lists filled
        before = self.count()
        self.h2load(method, body, SMALL)
        small = self.count() - before
        before = self.count()
        self.h2load(method, body, BIG)
        big = self.count() - before
        return small, big

    def assert_flat(self, method, body):
        small, big = self.per_batch(method, body)
        # Each batch is one connection, so both pay its setup; the calls themselves nothing.
        self.assertGreater(small, 0, "the shim counted nothing: is it preloaded?")
        self.assertLessEqual(big - small, SLACK,
                             f"{method}: {SMALL} calls cost {small} allocations, "
                             f"{BIG} calls {big}: {(big - small) / (BIG - SMALL):.3f} per call")

    def test_get_metrics(self):
        ref = self.d.ref("checkout")
        req = es.GetMetricsRequest(scaledObjectRef=ref,
                                   metricName="kedastral-checkout-desired-replicas")
        # The answers are real answers, not errors h2load would count as success.
        resp = self.d.get_metrics(ref, "kedastral-checkout-desired-replicas")
        self.assertGreater(resp.metricValues[0].metricValue, 0)
        self.assert_flat("GetMetrics", frame(req))

    def test_is_active(self):
        ref = self.d.ref("checkout")
        self.assertTrue(self.d.is_active(ref).result)
        self.assert_flat("IsActive", frame(ref))

    def test_strings_past_the_inline_block_are_counted(self):
        # A 400-byte metricName does not fit the request's inline block: one allocation per
        # call, which the count must see (the bound above can fail).
        ref = self.d.ref("checkout", metricName="m" * 400)
        self.assertTrue(self.d.is_active(ref).result)
        small, big = self.per_batch("IsActive", frame(ref))
        self.assertGreaterEqual(big - small, BIG - SMALL)

    def test_one_call_at_a_time_arms_no_write_event_and_asks_no_fionread(self):
        ref = self.d.ref("checkout")
        req = es.GetMetricsRequest(scaledObjectRef=ref,
                                   metricName="kedastral-checkout-desired-replicas")
        body = frame(req)
        self.h2load("GetMetrics", body, 200, m=1)
        diffs = []
        for n in (SMALL, BIG):
            before = self.counts()
            self.h2load("GetMetrics", body, n, m=1)
            diffs.append([after - b for after, b in zip(self.counts(), before)])
        small, big = diffs
        epoll_small, writev_small, readv_small, fionread_small = small[1:]
        epoll_big, writev_big, readv_big, fionread_big = big[1:]
        # The shim sees the writes and the reads (at least one of each per call: h2load waits
        # for each answer), so the bounds below are not met by counting nothing.
        self.assertGreaterEqual(writev_big - writev_small, BIG - SMALL)
        self.assertGreaterEqual(readv_big - readv_small, BIG - SMALL)
        # 10,000 (one before each read) through the bufferevent.
        self.assertLessEqual(fionread_big - fionread_small, SLACK,
                             f"{SMALL} calls cost {fionread_small} ioctl(FIONREAD), {BIG} calls "
                             f"{fionread_big}")
        # 20,000 (two per call) through the bufferevent.
        self.assertLessEqual(epoll_big - epoll_small, SLACK,
                             f"{SMALL} calls cost {epoll_small} epoll_ctl, {BIG} calls "
                             f"{epoll_big}: {(epoll_big - epoll_small) / (BIG - SMALL):.3f} "
                             "per call")


if __name__ == "__main__":
    unittest.main(verbosity=2)
