# SPDX-License-Identifier: Apache-2.0
"""The TLS module (kedastral-tls.so) against the real daemon: without TLS the process maps no
libssl, libcrypto, libevent_openssl nor the module (read from /proc/<pid>/maps); with TLS it
maps them and serves TLS with ALPN h2 to python's ssl; a missing, broken, too old or too small
module is one line naming the file (and dlerror()) at --check-config and at startup, exit 1,
whether $KEDASTRAL_TLS_MODULE or --tls-module names it (the flag wins over the variable), and
a reload that newly turns TLS on without the module is refused while the old
configuration keeps serving plaintext."""
import os
import re
import socket
import ssl
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from daemon import Daemon, WORK, run_cli  # noqa: E402
from pki import Pki  # noqa: E402

SRC = os.environ["KD_SOURCE_DIR"]
FAKES = os.environ["KD_TLS_FAKE_MODULES"]  # fake-old.so, fake-small.so, fake-none.so
TLS_LIBS = ("libssl.so", "libcrypto.so", "libevent_openssl", "kedastral-tls.so")
MISSING = "/nonexistent/kedastral-tls.so"

pki = None
BASE = None


def setUpModule():
    global pki, BASE
    os.makedirs(WORK, exist_ok=True)
    BASE = tempfile.mkdtemp(prefix="tls-module-", dir=WORK)
    pki = Pki(os.path.join(BASE, "pki"), names=("a",))


def config(tls=True):
    demo = os.path.join(SRC, "etc", "forecasts", "demo.json")
    group = (f'tls = {{ cert = "{pki.path("server-a.crt")}"; '
             f'key = "{pki.path("server-a.key")}"; }};' if tls else "")
    return f"""
sources = ( {{ name = "demo"; plugin = "file"; path = "{demo}"; }} );
policies = ( {{ name = "lookahead"; plugin = "max"; lead_time = "5m"; }} );
workloads = ( {{ match = "*"; source = "demo"; policy = "lookahead"; }} );
{group}
"""


def write_config(name, tls):
    path = os.path.join(BASE, name)
    with open(path, "w") as f:
        f.write(config(tls))
    return path


def mapped(pid):
    """The TLS libraries among the files the process maps."""
    with open(f"/proc/{pid}/maps") as f:
        files = {line.split()[-1] for line in f if "/" in line}
    return sorted({lib for lib in TLS_LIBS for p in files if lib in os.path.basename(p)})


def tls_alpn(port):
    """A TLS handshake offering h2 and http/1.1, verified against ca-a: the ALPN selected."""
    ctx = ssl.create_default_context(cafile=pki.path("ca-a.crt"))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.selected_alpn_protocol()


def plaintext_ok(d):
    spec = d.get_metric_spec(d.ref("demo-api"))
    return len(spec.metricSpecs) == 1


class MapsTest(unittest.TestCase):
    @unittest.skipIf(os.environ.get("KD_WRAPPER"), "maps are the wrapper's")
    def test_without_tls_nothing_is_mapped(self):
        d = Daemon(config(tls=False), name="tls-module-off")
        try:
            self.assertTrue(plaintext_ok(d))
            self.assertEqual(mapped(d.proc.pid), [])
            self.assertNotRegex(d.log(), r"loaded module")
        finally:
            self.assertEqual(d.stop(), 0, d.log())

    @unittest.skipIf(os.environ.get("KD_WRAPPER"), "maps are the wrapper's")
    def test_with_tls_the_module_is_mapped_and_serves(self):
        d = Daemon(config(tls=True), name="tls-module-on")
        try:
            self.assertEqual(tls_alpn(d.port), "h2")
            self.assertEqual(mapped(d.proc.pid), sorted(TLS_LIBS))
            self.assertRegex(d.log(), r'\[tls\] loaded module ".*kedastral-tls\.so" \(OpenSSL ')
        finally:
            self.assertEqual(d.stop(), 0, d.log())


    @unittest.skipIf(os.environ.get("KD_WRAPPER"), "maps are the wrapper's")
    def test_flag_wins_over_a_bad_variable_and_serves(self):
        module = os.environ["KD_TLS_MODULE_BUILT"]
        d = Daemon(config(tls=True), name="tls-module-flag", args=["--tls-module", module],
                   env={"KEDASTRAL_TLS_MODULE": MISSING})
        try:
            self.assertEqual(tls_alpn(d.port), "h2")
            self.assertEqual(mapped(d.proc.pid), sorted(TLS_LIBS))
            self.assertIn('[tls] loaded module "%s" (OpenSSL ' % module, d.log())
        finally:
            self.assertEqual(d.stop(), 0, d.log())


class BadModuleTest(unittest.TestCase):
    def check(self, module, tls=True, check_config=True, flag=None):
        """--check-config (or a startup) with $KEDASTRAL_TLS_MODULE=module and --tls-module flag."""
        path = write_config("check.conf", tls)
        args = ["--config", path, "--plugin-dir", os.environ["KD_PLUGIN_DIR"]]
        if flag is not None:
            args += ["--tls-module", flag]
        if check_config:
            args = ["--check-config"] + args
        else:
            args += ["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"]
        return run_cli(args, env={"KEDASTRAL_TLS_MODULE": module})

    def assert_refused(self, p, want):
        self.assertEqual(p.returncode, 1, p.stderr)
        lines = [line for line in p.stderr.splitlines() if "TLS module" in line]
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertRegex(lines[0], r"check\.conf:\d+: tls: " + want)

    def test_missing_at_check_config_and_startup(self):
        want = (r'cannot load the TLS module "%s": cannot open shared object file: '
                r'No such file or directory$' % re.escape(MISSING))
        for check_config in (True, False):
            with self.subTest(check_config=check_config):
                self.assert_refused(self.check(MISSING, check_config=check_config), want)

    def test_flag_missing_wins_over_a_good_variable(self):
        want = (r'cannot load the TLS module "%s": cannot open shared object file: '
                r'No such file or directory$' % re.escape(MISSING))
        for check_config in (True, False):
            with self.subTest(check_config=check_config):
                p = self.check(os.environ["KD_TLS_MODULE_BUILT"], check_config=check_config,
                               flag=MISSING)
                self.assert_refused(p, want)

    def test_flag_refused_table_at_check_config_and_startup(self):
        module = os.path.join(FAKES, "fake-none.so")
        want = (r'TLS module "%s": no kd_tls_module symbol \(not a kedastral-scaler TLS '
                r'module\?\)$' % re.escape(module))
        for check_config in (True, False):
            with self.subTest(check_config=check_config):
                p = self.check(MISSING, check_config=check_config, flag=module)
                self.assert_refused(p, want)

    def test_flag_wins_over_a_bad_variable(self):
        p = self.check(MISSING, flag=os.environ["KD_TLS_MODULE_BUILT"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"configuration OK")
        self.assertNotIn(MISSING, p.stderr)

    def test_flag_without_a_path(self):
        p = run_cli(["--check-config", "--tls-module", ""])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stderr, "kedastral-scaler: --tls-module needs a path\n")

    def test_missing_is_fine_without_tls(self):
        p = self.check(MISSING, tls=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"configuration OK")

    def test_not_a_shared_object(self):
        junk = os.path.join(BASE, "junk.so")
        with open(junk, "w") as f:
            f.write("not an ELF file\n")
        self.assert_refused(self.check(junk),
                            r'cannot load the TLS module "%s": .*(ELF|too short)' %
                            re.escape(junk))

    def test_refused_tables(self):
        cases = [
            ("fake-old.so", r"ABI version 0 is too old, this daemon needs 1 \(install the module "
                            r"built with this daemon\)$"),
            ("fake-small.so", r"its function table has 8 bytes, this daemon needs \d+ "),
            ("fake-none.so", r"no kd_tls_module symbol \(not a kedastral-scaler TLS module\?\)$"),
        ]
        for name, want in cases:
            module = os.path.join(FAKES, name)
            with self.subTest(module=name):
                self.assert_refused(self.check(module),
                                    r'TLS module "%s": %s' % (re.escape(module), want))


class ReloadTest(unittest.TestCase):
    def test_reload_turning_tls_on_without_the_module_keeps_the_old(self):
        d = Daemon(config(tls=False), name="tls-module-reload",
                   env={"KEDASTRAL_TLS_MODULE": MISSING})
        try:
            d.rewrite_config(config(tls=True))
            d.reload(1, ok=False)
            self.assertRegex(d.log(), r'reload failed, the running configuration keeps serving: '
                                      r'.*tls: cannot load the TLS module "%s": ' %
                                      re.escape(MISSING))
            self.assertTrue(plaintext_ok(d))
            if not os.environ.get("KD_WRAPPER"):
                self.assertEqual(mapped(d.proc.pid), [])
        finally:
            self.assertEqual(d.stop(), 0, d.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
