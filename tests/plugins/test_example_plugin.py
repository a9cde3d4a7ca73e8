#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""examples/source-steps built OUT OF TREE, as a plugin author would: `cmake --install` the
daemon into a scratch prefix, copy the example elsewhere, build it with `make` against nothing
but the installed <kedastral/plugin.h> found through the installed kedastral-plugin.pc, install
it into pkg-config's plugindir, then let the installed daemon load it (--describe,
--check-config) and answer GetMetrics from it (python3-grpcio as the client)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD, SOURCE = sys.argv[1], sys.argv[2]
PREFIX = tempfile.mkdtemp(prefix="kd-sdk-")
WORKDIR = tempfile.mkdtemp(prefix="kd-example-")
subprocess.run(["cmake", "--install", BUILD, "--prefix", PREFIX], check=True,
               stdout=subprocess.DEVNULL)
PC = [os.path.join(d, f) for d, _, fs in os.walk(PREFIX) for f in fs
      if f == "kedastral-plugin.pc"]
ENV = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(PC[0]) if PC else "")
PLUGINDIR = os.path.join(PREFIX, "lib/kedastral-scaler/plugins")

os.environ.setdefault("KD_BINARY", os.path.join(PREFIX, "bin/kedastral-scaler"))
os.environ.setdefault("KD_PLUGIN_DIR", PLUGINDIR)
os.environ.setdefault("KD_PROTO_DIR", os.path.join(SOURCE, "proto"))
sys.path.insert(0, os.path.join(SOURCE, "tests/integration"))
from daemon import Daemon  # noqa: E402


def config(plan, lead, extra=""):
    plan_text = ", ".join(f'"{p}"' for p in plan)
    return f"""
sources = ( {{ name = "steps"; plugin = "steps"; plan = [{plan_text}]; {extra} }} );
policies = ( {{ name = "lookahead"; plugin = "max"; lead_time = "{lead}"; }} );
workloads = ( {{ match = "*"; source = "steps"; policy = "lookahead"; }} );
"""


class ExampleOutOfTree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        assert len(PC) == 1, f"kedastral-plugin.pc installed {len(PC)} times under {PREFIX}"
        cls.src = os.path.join(WORKDIR, "source-steps")
        shutil.copytree(os.path.join(SOURCE, "examples/source-steps"), cls.src)
        cls.make = subprocess.run(["make", "-C", cls.src, "install"], env=ENV,
                                  capture_output=True, text=True)

    def test_pkg_config_names_only_the_installed_header(self):
        cflags = subprocess.run(["pkg-config", "--cflags", "kedastral-plugin"], env=ENV,
                                capture_output=True, text=True, check=True).stdout.split()
        self.assertEqual(len(cflags), 1)
        include = os.path.realpath(cflags[0][2:])
        self.assertEqual(include, os.path.realpath(os.path.join(PREFIX, "include")))
        self.assertTrue(os.path.exists(os.path.join(include, "kedastral/plugin.h")))
        self.assertEqual(os.listdir(include), ["kedastral"])  # the SDK is one header
        abi = subprocess.run(["pkg-config", "--variable=abi", "kedastral-plugin"], env=ENV,
                             capture_output=True, text=True, check=True).stdout.strip()
        self.assertEqual(abi, "2.0")

    def test_builds_out_of_tree_and_installs_into_plugindir(self):
        self.assertEqual(self.make.returncode, 0, self.make.stdout + self.make.stderr)
        self.assertNotIn(SOURCE, self.make.stdout)  # no path into the source tree was used
        self.assertTrue(os.path.exists(os.path.join(PLUGINDIR, "source-steps.so")))

    def test_daemon_describes_it(self):
        self.assertEqual(self.make.returncode, 0)
        out = subprocess.run([os.environ["KD_BINARY"], "--describe", "source-steps"],
                             capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("source-steps 1.0.0: Example: serves a fixed plan", out.stdout)
        self.assertIn("plan    list", out.stdout)

    def test_daemon_answers_from_it(self):
        self.assertEqual(self.make.returncode, 0)
        # lead 2m over steps of 60 s: indexes 0..2 of the plan -> 9; the timer path answers
        d = Daemon(config(["2", "3", "9", "4"], "2m", 'delay = "20ms";'), name="example")
        try:
            ref = d.ref("web")
            self.assertEqual(d.get_metrics(ref, "m").metricValues[0].metricValueFloat, 9)
        finally:
            d.stop()
        d = Daemon(config(["2", "3", "9", "4"], "1m"), name="example-sync")
        try:
            self.assertEqual(d.get_metrics(d.ref("web"), "m").metricValues[0].metricValueFloat, 3)
        finally:
            d.stop()

    def test_create_error_names_the_group(self):
        self.assertEqual(self.make.returncode, 0)
        path = os.path.join(WORKDIR, "bad.conf")
        with open(path, "w") as f:
            f.write("# bad plan\n" + config(["2", "x"], "1m"))
        out = subprocess.run([os.environ["KD_BINARY"], "--check-config", "--config", path],
                             capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(f'{path}:3: source "steps" (steps): plan[1] "x" is not a replica count',
                      out.stderr)


if __name__ == "__main__":
    try:
        unittest.main(argv=sys.argv[:1], verbosity=2)
    finally:
        shutil.rmtree(PREFIX, ignore_errors=True)
        shutil.rmtree(WORKDIR, ignore_errors=True)
