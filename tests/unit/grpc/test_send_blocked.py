# SPDX-License-Identifier: Apache-2.0
# A flush that blocks (the socket refuses a write) must resume once the socket drains, also when
# the socket takes the rest at the very end of the flush: then no EPOLLOUT wakeup is owed, and a
# send left marked as blocked would sit until the write timeout dropped the connection. The
# server runs under writev_eagain.so, which refuses every other big writev with EAGAIN.
# Usage: /usr/bin/python3 test_send_blocked.py path/to/grpc_test_server path/to/writev_eagain.so
import os
import subprocess
import sys
import unittest

import grpc

WRITE_TIMEOUT_MS = 3000


class SendBlocked(unittest.TestCase):
    def setUp(self):
        env = dict(os.environ, LD_PRELOAD=sys.argv[2])
        self.server = subprocess.Popen(
            [sys.argv[1], "--write-timeout-ms", str(WRITE_TIMEOUT_MS)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.port = int(self.server.stdout.readline())
        self.channel = grpc.insecure_channel("127.0.0.1:%d" % self.port)

    def tearDown(self):
        self.channel.close()
        self.server.terminate()
        _, err = self.server.communicate(timeout=30)
        self.stderr = err.decode(errors="replace")

    def test_big_answers_survive_refused_writes(self):
        unary = self.channel.unary_unary("/test.Echo/Unary")
        for size in (100_000, 300_000, 1_000_000):
            req = os.urandom(size)
            # well inside the write timeout: a stalled send would fail here, not pass late
            self.assertEqual(unary(req, timeout=WRITE_TIMEOUT_MS / 1000 - 1), req)
        self.channel.close()
        self.server.terminate()
        _, err = self.server.communicate(timeout=30)
        refused = err.decode(errors="replace").count("writev_eagain: refused")
        self.assertGreater(refused, 0, "the shim refused no write: the test tested nothing")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
