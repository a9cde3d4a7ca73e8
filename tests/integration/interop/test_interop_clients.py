# SPDX-License-Identifier: Apache-2.0
"""Checks the interop tooling itself, so a green interop test means something: the shared
number layout, argument errors, identical status codes when nothing listens, and that
run_interop.py really fails on a difference."""
import json
import os
import socket
import subprocess
import tempfile
import unittest

import run_interop
from interop_common import canonical_number, encode, format_float

HERE = os.path.dirname(os.path.abspath(__file__))
GO_CLIENT = os.environ.get("KD_INTEROP_GO_CLIENT", "")
HAVE_NODE = os.path.isdir(os.path.join(run_interop.NODE_DIR, "node_modules", "@grpc", "grpc-js"))


def clients():
    cmds = run_interop.client_commands(GO_CLIENT, run_interop.NODE_DIR)
    if not HAVE_NODE:
        del cmds["grpc-js"]
    return cmds


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NumberLayout(unittest.TestCase):
    def test_floats(self):
        cases = [(0.0, "0.0"), (-0.0, "-0.0"), (5.0, "5.0"), (1.5, "1.5"), (0.1, "0.1"),
                 (1e-7, "0.0000001"), (1.5e-8, "1.5e-8"), (1e20, "100000000000000000000.0"),
                 (1e21, "1.0e+21"), (-2.5e300, "-2.5e+300"), (123.456, "123.456"),
                 (float("nan"), '"NaN"'), (float("-inf"), '"-Infinity"')]
        for f, want in cases:
            self.assertEqual(format_float(f), want, f)

    def test_digits_and_exponent(self):
        self.assertEqual(canonical_number(False, "12500", 1), "12.5")
        self.assertEqual(canonical_number(True, "1", -3), "-0.001")
        self.assertEqual(canonical_number(False, "000", 7), "0.0")

    def test_encode_sorts_keys_and_escapes(self):
        doc = {"b": [True, 1], "a": 'q"\\\n\u00e9\U0001F600'}
        self.assertEqual(encode(doc),
                         '{"a":"q\\"\\\\\\u000a\\u00e9\\ud83d\\ude00","b":[true,1]}')


@unittest.skipUnless(os.access(GO_CLIENT, os.X_OK), "KD_INTEROP_GO_CLIENT not built")
class Clients(unittest.TestCase):
    def run_client(self, cmd, *args):
        return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60)

    def test_bad_metadata_is_rejected(self):
        for name, cmd in clients().items():
            res = self.run_client(cmd, "--addr", "127.0.0.1:1", "--workload", "a",
                                  "--metadata", "novalue")
            self.assertEqual(res.returncode, 2, name)
            self.assertIn("is not k=v", res.stderr, name)
            self.assertEqual(res.stdout, "", name)

    def test_missing_workload_is_rejected(self):
        for name, cmd in clients().items():
            res = self.run_client(cmd, "--addr", "127.0.0.1:1")
            self.assertEqual(res.returncode, 2, name)
            self.assertIn("--workload", res.stderr, name)

    def test_nothing_listening_is_unavailable_everywhere(self):
        addr = f"127.0.0.1:{closed_port()}"
        for name, cmd in clients().items():
            res = self.run_client(cmd, "--addr", addr, "--workload", "a",
                                  "--stream-wait-ms", "200")
            self.assertEqual(res.returncode, 0, f"{name}: {res.stderr}")
            w = json.loads(res.stdout)["workloads"][0]
            for call in ("spec", "metrics", "isActive", "stream"):
                self.assertEqual(w[call]["code"], 14, f"{name} {call}: {w[call]}")
                self.assertTrue(w[call]["message"], f"{name} {call}")


@unittest.skipUnless(os.access(GO_CLIENT, os.X_OK) and HAVE_NODE, "clients not built")
class RunInterop(unittest.TestCase):
    def run_interop(self, *args):
        cmd = ["/usr/bin/python3", os.path.join(HERE, "run_interop.py"),
               "--go-client", GO_CLIENT] + list(args)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    def test_difference_from_expectation_fails(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write('{"workloads":[]}\n')
            f.flush()
            res = self.run_interop("--expect", f.name, "--workload", "b",
                                   "--stream-wait-ms", "100", "--",
                                   "/usr/bin/python3", os.path.join(HERE, "ref_server.py"))
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertIn("FAIL: the outputs differ", res.stderr)
        self.assertIn("--- expected", res.stdout)

    def test_server_without_port_line_fails(self):
        res = self.run_interop("--server-timeout", "5", "--workload", "a", "--",
                               "/bin/sh", "-c", "echo starting; exit 3")
        self.assertEqual(res.returncode, 1)
        self.assertIn("printed no line matching", res.stderr)
        self.assertIn("starting", res.stderr)

    def test_addr_and_command_are_exclusive(self):
        res = self.run_interop("--addr", "127.0.0.1:1", "--workload", "a", "--", "true")
        self.assertEqual(res.returncode, 2)
        self.assertIn("either --addr or a server command", res.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
