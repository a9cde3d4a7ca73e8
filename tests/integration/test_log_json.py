# SPDX-License-Identifier: Apache-2.0
"""log_format = "json": every line the daemon writes is one JSON object (python's json module,
strict UTF-8), with time, level and msg, whatever the names in it hold. The names come from a
forecast file (quotes, backslashes, invalid UTF-8), from a gRPC client (grpcio) and from a
reloaded config (newlines, control characters, invalid UTF-8 in a source's name and path);
lines at error, info and debug are provoked."""
import json
import os
import re
import signal
import subprocess
import threading
import time
import unittest

import grpc

from daemon import BINARY, PLUGIN_DIR, SERVICE, WORK, es, forecast

NOW = time.time()
ODD = 'q"uote\\back'  # a workload name a forecast file may carry (no control characters)


class JsonLogTest(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.join(WORK, "log-json")
        os.makedirs(self.dir, exist_ok=True)
        live = os.path.join(self.dir, "live.json")
        doc = json.dumps([forecast("web", [2, 3], NOW), forecast(ODD, [4, 5], NOW),
                          forecast("PLACEHOLDER", [1], NOW)])
        # raw bytes that are not UTF-8 inside a name: json.dumps cannot write them
        with open(live, "wb") as f:
            f.write(doc.encode().replace(b"PLACEHOLDER", b"bad\xff\xfeutf8"))
        self.conf = os.path.join(self.dir, "kedastral-scaler.conf")
        with open(self.conf, "w") as f:
            f.write(f"""
log_level = "debug";
log_format = "json";
sources = ( {{ name = "live"; plugin = "file"; path = "{live}"; }} );
policies = ( {{ name = "lookahead"; plugin = "max"; lead_time = "5m"; }} );
workloads = ( {{ match = "*"; source = "live"; policy = "lookahead"; }} );
""")
        self.raw = []
        self.cv = threading.Condition()
        self.proc = subprocess.Popen(
            [BINARY, "--plugin-dir", PLUGIN_DIR, "--config", self.conf, "--listen",
             "127.0.0.1:0", "--http-listen", "127.0.0.1:0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        threading.Thread(target=self.pump, daemon=True).start()
        m = self.wait_for(rb"grpc server listening .*port=(\d+)")
        self.assertIsNotNone(m, b"".join(self.raw))
        self.channel = grpc.insecure_channel(f"127.0.0.1:{int(m.group(1))}")

    def tearDown(self):
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.proc.stderr.close()

    def pump(self):
        for line in self.proc.stderr:  # bytes: nothing decoded on the way
            with self.cv:
                self.raw.append(line)
                self.cv.notify_all()

    def wait_for(self, pattern, timeout=20):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cv:
            while time.monotonic() < deadline:
                for line in self.raw:
                    m = rx.search(line)
                    if m:
                        return m
                self.cv.wait(0.2)
        return None

    def call(self, method, req, resp_type):
        rpc = self.channel.unary_unary(SERVICE + method,
                                       request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=resp_type.FromString)
        try:
            return rpc(req, timeout=10), grpc.StatusCode.OK
        except grpc.RpcError as e:
            return None, e.code()

    def test_every_line_is_one_object(self):
        def ref(name, **md):
            return es.ScaledObjectRef(name=name, namespace="default", scalerMetadata=md)

        got, code = self.call("GetMetrics", es.GetMetricsRequest(scaledObjectRef=ref(ODD),
                                                                  metricName="m"),
                              es.GetMetricsResponse)
        self.assertEqual(code, grpc.StatusCode.OK)
        self.assertEqual(got.metricValues[0].metricValueFloat, 5.0)
        # names from a client: refused or not found, never a broken line
        for name in ['x"}\n{"level":"error', "\\", "tab\there\x7f", "e\u0301\U0001f600"]:
            _, code = self.call("IsActive", ref(name), es.IsActiveResponse)
            self.assertNotEqual(code, grpc.StatusCode.OK)
        _, code = self.call("IsActive", ref("web", leadTime='5"m\n'), es.IsActiveResponse)
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        # error: a reloaded config whose second source cannot start names it and its path
        with open(self.conf, "rb") as f:
            text = f.read()
        odd_source = (b'{ name = "o\\"dd\\\\n\\nl\\tx\\x01y\\xff"; plugin = "file"; '
                      b'path = "/nonexistent/m\\n\\x01\\xfe.json"; }')
        with open(self.conf, "wb") as f:
            f.write(text.replace(b'.json"; }', b'.json"; }, ' + odd_source, 1))
        self.proc.send_signal(signal.SIGHUP)
        self.assertIsNotNone(self.wait_for(rb"reload failed"), b"".join(self.raw))
        self.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.proc.wait(20), 0)

        objects = []
        for i, line in enumerate(self.raw):
            self.assertTrue(line.endswith(b"\n"), line)
            text = line.decode("utf-8")  # strict: raises on a byte that is not UTF-8
            obj = json.loads(text)  # strict: a raw control character fails
            self.assertIsInstance(obj, dict, text)
            self.assertLessEqual({"time", "level", "msg"}, set(obj), text)
            self.assertLessEqual(set(obj), {"time", "level", "msg", "src"}, text)
            self.assertRegex(obj["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(obj["level"], ("error", "warn", "info", "debug"))
            objects.append(obj)
        levels = {o["level"] for o in objects}
        self.assertLessEqual({"info", "debug", "error"}, levels, levels)
        msgs = "\n".join(o["msg"] for o in objects)
        # the names came through whole, decoded back to what they were
        self.assertIn(f"workload={ODD} replicas=5", msgs)
        self.assertTrue(any(ODD in o["msg"] and o.get("src") for o in objects), msgs)
        self.assertIn("bad\ufffd\ufffdutf8", msgs)
        self.assertIn("reload failed", msgs)
        self.assertIn('source "o"dd\\n\nl\tx\x01y\ufffd" (file)', msgs)
        self.assertIn("/nonexistent/m\n\x01\ufffd.json", msgs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
