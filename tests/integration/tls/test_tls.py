# SPDX-License-Identifier: Apache-2.0
"""TLS and mTLS on the gRPC port of the real daemon, against the three independent clients
(grpc-go as KEDA configures it, python3-grpcio, grpc-js) and `openssl s_client`: server TLS
with a caCert, mTLS, a missing client certificate, a client certificate from another CA, a
plaintext client, ALPN h2 (and refusals without it), rotation of a kubelet-projected Secret
to another CA while an old connection keeps working, a broken pair kept out, SIGHUP, the
upstream-mode flags and --check-config errors. Certificates are made with the openssl CLI at
test time."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from daemon import Daemon, WORK, http_get, run_cli  # noqa: E402
from pki import Pki, SecretVolume  # noqa: E402
from tls_clients import Clients, build_go_client  # noqa: E402

SRC = os.environ["KD_SOURCE_DIR"]
PROTO_DIR = os.environ["KD_PROTO_DIR"]
METRIC = "kedastral-demo-api-desired-replicas"

pki = None
clients = None
BASE = None  # this run's folder under WORK


def setUpModule():
    global pki, clients, BASE
    os.makedirs(WORK, exist_ok=True)
    BASE = base = tempfile.mkdtemp(prefix="tls-", dir=WORK)
    pki = Pki(os.path.join(base, "pki"))
    go = build_go_client(os.environ["KD_INTEROP_GO_CLIENT"], base)
    clients = Clients(go, PROTO_DIR)


def config(tls, extra=""):
    demo = os.path.join(SRC, "etc", "forecasts", "demo.json")
    return f"""
sources = ( {{ name = "demo"; plugin = "file"; path = "{demo}"; }} );
policies = ( {{ name = "lookahead"; plugin = "max"; lead_time = "5m"; }} );
workloads = ( {{ match = "*"; source = "demo"; policy = "lookahead"; }} );
tls = {{ {tls} }};
{extra}
"""


def client_hello():
    """A real TLS ClientHello offering ALPN h2, as bytes (python's ssl over memory BIOs)."""
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def metric(http_port, name, **labels):
    """A sample's value from /metrics, or None."""
    _, _, text = http_get(http_port, "/metrics")
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(want)), text, re.M)
    return float(m.group(1)) if m else None


def s_client(port, *args, stdin=""):
    """openssl s_client against the daemon: (exit code, stdout + stderr)."""
    p = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                        "-servername", "localhost", *args],
                       input=stdin.encode(), capture_output=True, timeout=30)
    # After the handshake s_client prints what the server sends: HTTP/2 frames, binary.
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


class TlsCase(unittest.TestCase):
    daemon = None

    @classmethod
    def start(cls, tls, name, extra=""):
        cls.secret = SecretVolume(os.path.join(BASE, name + "-secret"))
        cls.secret.project(pki.path("server-a.crt"), pki.path("server-a.key"),
                           pki.path("ca-a.crt"))
        tls = tls.replace("@DIR@", cls.secret.dir)
        cls.daemon = Daemon(config(tls, extra), name=name)

    @classmethod
    def tearDownClass(cls):
        if cls.daemon:
            rc = cls.daemon.stop()
            if os.environ.get("KD_TLS_SHOW_LOG"):
                print(cls.daemon.log(), file=sys.stderr)
            assert rc == 0, f"daemon exited {rc}:\n{cls.daemon.log()}"

    def count(self, pattern):
        return len(re.findall(pattern, self.daemon.log()))

    def wait_count(self, pattern, n, timeout=20):
        """Wait until `pattern` was logged n times (a bound against hangs, not a threshold)."""
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(pattern) >= n:
                return
            time.sleep(0.05)
        self.fail(f"{pattern!r} not logged {n} times:\n{self.daemon.log()}")

    def assert_ok(self, lines, issuer=None):
        for line in lines:
            self.assertTrue(line["ok"], line)
            self.assertEqual(line["metric"], METRIC, line)
            if line["client"] == "grpc-go":
                self.assertEqual(line["alpn"], "h2", line)
                if issuer:
                    self.assertEqual(line["issuer"], issuer, line)

    def assert_refused(self, lines):
        for line in lines:
            self.assertFalse(line["ok"], line)
            self.assertEqual(line["code"], "UNAVAILABLE", line)


class ServerTlsTest(TlsCase):
    """TLS without client certificates: KEDA's caCert (or enableTLS) alone."""

    @classmethod
    def setUpClass(cls):
        cls.start('cert = "@DIR@/tls.crt"; key = "@DIR@/tls.key";', "tls-server")

    def test_listening_line_says_tls(self):
        self.assertRegex(self.daemon.log(), r"grpc server listening .*tls=on client_auth=none")

    def test_server_tls_with_ca_cert(self):
        for name in clients.names:
            with self.subTest(client=name):
                self.assert_ok(clients.run(name, self.daemon.addr, ca=pki.path("ca-a.crt")),
                               issuer="kd-test-ca-a")

    def test_server_cert_from_another_ca_refused_by_clients(self):
        for name in clients.names:
            with self.subTest(client=name):
                self.assert_refused(clients.run(name, self.daemon.addr, ca=pki.path("ca-b.crt")))

    def test_plaintext_client_refused(self):
        before = self.count(r"plaintext client on the TLS port")
        for name in clients.names:
            with self.subTest(client=name):
                self.assert_refused(clients.run(name, self.daemon.addr, plaintext=True))
        self.wait_count(r"plaintext client on the TLS port", before + len(clients.names))

    def test_alpn_h2_negotiated(self):
        rc, out = s_client(self.daemon.port, "-alpn", "h2", "-CAfile", pki.path("ca-a.crt"),
                           "-verify_return_error")
        self.assertEqual(rc, 0, out)
        self.assertIn("ALPN protocol: h2", out)
        self.assertIn("Verify return code: 0 (ok)", out)
        self.assertRegex(out, r"New, TLSv1\.[23], Cipher is")

    def test_tls_1_2_accepted(self):
        # min_version 1.2 (the default) takes a TLS 1.2-only client, with ALPN h2.
        rc, out = s_client(self.daemon.port, "-alpn", "h2", "-tls1_2")
        self.assertEqual(rc, 0, out)
        self.assertIn("Protocol  : TLSv1.2", out)
        self.assertIn("ALPN protocol: h2", out)

    def test_alpn_without_h2_refused(self):
        before = self.count(r"its ALPN offers http/1\.1, not h2")
        rc, out = s_client(self.daemon.port, "-alpn", "http/1.1")
        self.assertNotEqual(rc, 0, out)
        self.assertIn("no application protocol", out)
        self.wait_count(r"refusing 127\.0\.0\.1:\d+: its ALPN offers http/1\.1, not h2", before + 1)

    def test_no_alpn_refused(self):
        before = self.count(r"it sent no ALPN; gRPC over TLS needs ALPN h2")
        # The handshake completes (the server cannot refuse an absent extension), then the
        # connection is closed before any HTTP/2.
        rc, out = s_client(self.daemon.port, stdin="")
        self.assertNotIn("ALPN protocol: h2", out)
        self.wait_count(r"refusing 127\.0\.0\.1:\d+: it sent no ALPN", before + 1)


class MutualTlsTest(TlsCase):
    """client_auth require (the default with client_ca): KEDA's tlsClientCert/tlsClientKey."""

    @classmethod
    def setUpClass(cls):
        cls.start('cert = "@DIR@/tls.crt"; key = "@DIR@/tls.key"; client_ca = "@DIR@/ca.crt";',
                  "tls-mutual")

    def creds(self, n):
        return dict(ca=pki.path(f"ca-{n}.crt"), cert=pki.path(f"client-{n}.crt"),
                    key=pki.path(f"client-{n}.key"))

    def test_1_mtls(self):
        self.assertRegex(self.daemon.log(), r"client_auth=require")
        for name in clients.names:
            with self.subTest(client=name):
                self.assert_ok(clients.run(name, self.daemon.addr, **self.creds("a")))

    def test_2_missing_client_cert_refused(self):
        before = self.count(r"TLS handshake with .* failed: peer did not return a certificate")
        for name in clients.names:
            with self.subTest(client=name):
                self.assert_refused(clients.run(name, self.daemon.addr, ca=pki.path("ca-a.crt")))
        self.wait_count(r"TLS handshake with .* failed: peer did not return a certificate",
                        before + len(clients.names))

    def test_3_client_cert_from_another_ca_refused(self):
        before = self.count(r"failed: certificate verify failed: client certificate")
        creds = dict(self.creds("b"), ca=pki.path("ca-a.crt"))
        for name in clients.names:
            with self.subTest(client=name):
                self.assert_refused(clients.run(name, self.daemon.addr, **creds))
        self.wait_count(r"failed: certificate verify failed: client certificate: "
                        r"unable to get local issuer certificate", before + len(clients.names))

    def test_4_rotation_to_another_ca(self):
        # One connection per client, opened on CA A's material and left open.
        old = {}
        for name in clients.names:
            p, first = clients.start(name, self.daemon.addr, **self.creds("a"))
            self.assert_ok([first], issuer="kd-test-ca-a")
            old[name] = p
        before = self.count(r"files changed: new handshakes use certificate")
        # cert-manager renews into another CA; the kubelet swaps ..data.
        self.secret.project(pki.path("server-b.crt"), pki.path("server-b.key"),
                            pki.path("ca-b.crt"))
        self.wait_count(r"files changed: new handshakes use certificate .*issuer CN=kd-test-ca-b",
                        before + 1)
        for name in clients.names:
            with self.subTest(client=name, connection="new, CA B"):
                self.assert_ok(clients.run(name, self.daemon.addr, **self.creds("b")),
                               issuer="kd-test-ca-b")
            with self.subTest(client=name, connection="new, CA A"):
                self.assert_refused(clients.run(name, self.daemon.addr, **self.creds("a")))
        # The connections from before the rotation still answer. A reconnect could not: these
        # clients trust only CA A and present A's certificate, which B's material refuses.
        for name, p in old.items():
            with self.subTest(client=name, connection="old, CA A"):
                line = clients.resume(p)
                self.assert_ok([line])
                self.assertEqual(line["call"], 2)

        # A broken projection (A's certificate, B's key): B keeps serving, logged once.
        self.secret.project(pki.path("server-a.crt"), pki.path("server-b.key"),
                            pki.path("ca-b.crt"))
        broken = r"files changed but cannot be used, keeping the current certificate: key .* " \
                 r"does not match cert"
        self.wait_count(broken, 1)
        for name in clients.names:
            with self.subTest(client=name, connection="after a broken pair"):
                self.assert_ok(clients.run(name, self.daemon.addr, **self.creds("b")),
                               issuer="kd-test-ca-b")
        # SIGHUP re-reads the files: still broken, said so, and the rest of the reload applies.
        self.daemon.reload(1)
        self.assertEqual(self.count(r"reload failed, keeping the current certificate"), 1)
        self.assertEqual(self.count(broken), 1)  # the watch did not repeat itself meanwhile

        # Fixed on the next rotation; SIGHUP then reloads the same material.
        self.secret.project(pki.path("server-a.crt"), pki.path("server-a.key"),
                            pki.path("ca-a.crt"))
        self.wait_count(r"files changed: new handshakes use certificate .*issuer CN=kd-test-ca-a",
                        1)
        self.daemon.reload(2)
        self.assertRegex(self.daemon.log(), r"reloaded: new handshakes use certificate")
        for name in clients.names:
            with self.subTest(client=name, connection="back on CA A"):
                self.assert_ok(clients.run(name, self.daemon.addr, **self.creds("a")),
                               issuer="kd-test-ca-a")


class OptionalClientAuthTest(TlsCase):
    @classmethod
    def setUpClass(cls):
        cls.start('cert = "@DIR@/tls.crt"; key = "@DIR@/tls.key"; client_ca = "@DIR@/ca.crt"; '
                  'client_auth = "optional"; min_version = "1.3";', "tls-optional")

    def test_optional(self):
        for name in clients.names:
            with self.subTest(client=name):
                self.assert_ok(clients.run(name, self.daemon.addr, ca=pki.path("ca-a.crt")))
                self.assert_ok(clients.run(name, self.daemon.addr, ca=pki.path("ca-a.crt"),
                                           cert=pki.path("client-a.crt"),
                                           key=pki.path("client-a.key")))
                self.assert_refused(clients.run(name, self.daemon.addr, ca=pki.path("ca-a.crt"),
                                                cert=pki.path("client-b.crt"),
                                                key=pki.path("client-b.key")))

    def test_min_version_1_3(self):
        # TLS 1.2 works against min_version 1.2 (ServerTlsTest); here the daemon refuses it and
        # says why. (No TLS 1.1 case: Debian's OpenSSL client will not offer 1.1 at all.)
        hint = r"no TLS version at or above min_version"
        before = self.count(hint)
        rc, out = s_client(self.daemon.port, "-alpn", "h2", "-tls1_2")
        self.assertNotEqual(rc, 0, out)
        self.wait_count(hint, before + 1)
        rc, out = s_client(self.daemon.port, "-alpn", "h2", "-tls1_3")
        self.assertEqual(rc, 0, out)
        self.assertIn("ALPN protocol: h2", out)


class HostileHandshakeTest(TlsCase):
    """What a client that never completes a handshake costs: the whole handshake is bounded by
    limits.handshake_timeout from the accept however the bytes are paced, and failures are all
    counted but logged at most 20 per 10 s."""

    @classmethod
    def setUpClass(cls):
        cls.start('cert = "@DIR@/tls.crt"; key = "@DIR@/tls.key";', "tls-hostile",
                  extra='limits = { handshake_timeout = "1s"; };')

    def test_trickled_client_hello_is_closed(self):
        # One byte every 0.25 s: each restarts any per-read inactivity timer, so only a deadline
        # from the accept closes this connection before the ClientHello is complete.
        import select
        import socket
        hello = client_hello()
        self.assertGreater(len(hello), 200)
        s = socket.create_connection(("127.0.0.1", self.daemon.port))
        sent, closed = 0, False
        try:
            for b in hello:
                s.sendall(bytes([b]))
                sent += 1
                if select.select([s], [], [], 0.25)[0] and s.recv(1) == b"":
                    closed = True
                    break
        except (ConnectionResetError, BrokenPipeError):
            closed = True
        finally:
            s.close()
        self.assertTrue(closed, f"still open after the whole {len(hello)}-byte ClientHello")
        self.assertLess(sent, len(hello))
        self.assertGreaterEqual(metric(self.daemon.http_port,
                                       "kedastral_scaler_tls_handshake_failures_total",
                                       reason="timeout"), 1)

    def test_refusal_flood_is_counted_not_logged(self):
        import socket
        import time
        line = r"TLS handshake with \S+ failed: "
        summary = r"(\d+) more failed TLS handshakes not logged in the last \d+ s"

        def accounted():
            return self.count(line) + sum(int(m) for m in re.findall(summary, self.daemon.log()))

        n = 200
        base = accounted()
        before = metric(self.daemon.http_port, "kedastral_scaler_tls_handshake_failures_total",
                        reason="plaintext") or 0
        for _ in range(n):
            with socket.create_connection(("127.0.0.1", self.daemon.port)) as s:
                s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
                s.settimeout(20)
                try:
                    while s.recv(4096):
                        pass
                except (ConnectionResetError, socket.timeout):
                    pass
        self.assertEqual(metric(self.daemon.http_port,
                                "kedastral_scaler_tls_handshake_failures_total",
                                reason="plaintext"), before + n)
        self.assertLess(self.count(line), base + n, "every refusal was logged")
        # No further refusal needed: the window's end says how many were left out, and with the
        # lines logged every refusal is accounted for (the window is 10 s; this waits for it).
        deadline = time.monotonic() + 40
        while accounted() < base + n and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(accounted(), base + n)
        self.assertGreaterEqual(self.count(summary), 1)


class UpstreamModeTest(unittest.TestCase):
    """No config file: the --grpc-tls-* flags (and GRPC_TLS_* variables) turn TLS on."""

    def test_flags(self):
        d = Daemon(None, name="tls-upstream", args=[
            "--grpc-tls-cert-file", pki.path("server-a.crt"),
            "--grpc-tls-key-file", pki.path("server-a.key"),
            "--grpc-tls-client-ca-file", pki.path("ca-a.crt"),
            "--forecaster-url", "http://127.0.0.1:9"])
        try:
            self.assertRegex(d.log(), r"tls=on client_auth=require")
            for name in clients.names:
                with self.subTest(client=name):
                    lines = clients.run(name, d.addr, ca=pki.path("ca-a.crt"),
                                        cert=pki.path("client-a.crt"),
                                        key=pki.path("client-a.key"))
                    self.assertTrue(lines[0]["ok"], lines)
                    lines = clients.run(name, d.addr, ca=pki.path("ca-a.crt"))
                    self.assertFalse(lines[0]["ok"], lines)
        finally:
            self.assertEqual(d.stop(), 0, d.log())

    def test_environment(self):
        d = Daemon(None, name="tls-upstream-env", env={
            "GRPC_TLS_CERT_FILE": pki.path("server-b.crt"),
            "GRPC_TLS_KEY_FILE": pki.path("server-b.key")}, args=[
            "--forecaster-url", "http://127.0.0.1:9"])
        try:
            lines = clients.run("grpc-go", d.addr, ca=pki.path("ca-b.crt"))
            self.assertTrue(lines[0]["ok"], lines)
            self.assertEqual(lines[0]["alpn"], "h2")
        finally:
            self.assertEqual(d.stop(), 0, d.log())


class CheckConfigTest(unittest.TestCase):
    def check(self, tls):
        path = os.path.join(BASE, "check.conf")
        with open(path, "w") as f:
            f.write(config(tls))
        return run_cli(["--check-config", "--config", path, "--plugin-dir",
                        os.environ["KD_PLUGIN_DIR"]]), path

    def test_good(self):
        p, _ = self.check(f'cert = "{pki.path("server-a.crt")}"; '
                          f'key = "{pki.path("server-a.key")}";')
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_errors(self):
        cases = [
            (f'cert = "{pki.path("server-a.crt")}"; key = "{pki.path("server-b.key")}";',
             r"check\.conf:\d+: .*key \".*server-b\.key\" does not match cert"),
            (f'cert = "{pki.path("nope.crt")}"; key = "{pki.path("server-a.key")}";',
             r"check\.conf:\d+: .*cert \".*nope\.crt\": No such file or directory"),
            (f'cert = "{pki.path("server-a.crt")}"; key = "{pki.path("server-a.key")}"; '
             'client_auth = "require";',
             r"check\.conf:\d+: .*client_auth \"require\" needs a client_ca file"),
            (f'cert = "{pki.path("server-a.crt")}";',
             r"check\.conf:\d+: .*TLS needs both a certificate and a key file"),
            (f'cert = "{pki.path("server-a.crt")}"; key = "{pki.path("server-a.key")}"; '
             'min_version = "1.1";',
             r"check\.conf:\d+: .*min_version"),
            (f'cert = "{pki.path("server-a.crt")}"; key = "{pki.path("server-a.key")}"; '
             'ciphers = "ALL";',
             r"check\.conf:\d+: .*ciphers"),
        ]
        for tls, want in cases:
            with self.subTest(tls=tls):
                p, _ = self.check(tls)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertRegex(p.stderr, want)


if __name__ == "__main__":
    unittest.main(verbosity=2)
