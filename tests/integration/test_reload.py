# SPDX-License-Identifier: Apache-2.0
"""SIGHUP reload against the real daemon: cached forecasts of unchanged sources survive a reload
(checked with the stub forecaster's request counter), a changed source fetches anew, and a
changed gRPC listen address moves the port (bind first, old kept on failure). Clients are
python3-grpcio and plain sockets; nothing is shared with the daemon's code."""
import os
import re
import signal
import socket
import tempfile
import time
import unittest

import grpc

from daemon import WORK, Daemon, Stub, es, SERVICE, http_get

WEB = [2, 2, 3, 3, 4, 5, 5, 5]  # lead 5m -> 5, lead 1m -> 2


def http_config(url, lead="5m", listen=None, extra=""):
    # refresh 1h: no background refresh, so every GET the stub counts is one the test caused.
    listen_line = f'listen = "{listen}";' if listen else ""
    return f"""
log_level = "debug";
{listen_line}
{extra}
sources = ( {{ name = "fc"; plugin = "http"; url = "{url}"; refresh = "1h"; }} );
policies = ( {{ name = "lookahead"; plugin = "max"; lead_time = "{lead}"; }} );
workloads = ( {{ match = "*"; source = "fc"; policy = "lookahead"; }} );
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused(port):
    with socket.socket() as s:
        try:
            s.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
    return False


class ReloadBase(unittest.TestCase):
    daemon = None

    def value(self, workload, channel=None):
        ref = es.ScaledObjectRef(name=workload, namespace="default")
        req = es.GetMetricsRequest(scaledObjectRef=ref, metricName="m")
        call = (channel or self.daemon.channel).unary_unary(
            SERVICE + "GetMetrics", request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=es.GetMetricsResponse.FromString)
        return call(req, timeout=10).metricValues[0].metricValueFloat


class ReloadCacheTest(ReloadBase):
    def setUp(self):
        self.stub = Stub({"web": {"mode": "fresh", "desiredReplicas": WEB},
                          "api": {"mode": "fresh", "desiredReplicas": WEB}})
        self.daemon = Daemon(http_config(self.stub.url), name="reload-cache")

    def tearDown(self):
        code = self.daemon.stop()
        self.stub.stop()
        self.assertEqual(code, 0, self.daemon.log())

    def test_unchanged_source_keeps_cache_changed_source_fetches(self):
        self.assertEqual(self.value("web"), 5)
        self.assertEqual(self.value("api"), 5)
        self.assertEqual(self.stub.count("web"), 1)

        # Only the policy changed: the http source is the same, so no new GET.
        self.daemon.rewrite_config(http_config(self.stub.url, lead="1m"))
        self.daemon.reload(1)
        self.assertRegex(self.daemon.log(), r"reload: configuration applied.*2 cached "
                                            r"forecasts kept")
        self.assertEqual(self.value("web"), 2)  # the new policy, on the carried forecast
        self.assertEqual(self.value("api"), 2)
        self.assertEqual(self.stub.count("web"), 1)
        self.assertEqual(self.stub.count("api"), 1)

        # The source's url changed: the next call fetches from the new forecaster.
        other = Stub({"web": {"mode": "fresh", "desiredReplicas": [7, 7]}})
        try:
            self.daemon.rewrite_config(http_config(other.url, lead="1m"))
            self.daemon.reload(2)
            self.assertRegex(self.daemon.log(), r"0 cached forecasts kept")
            self.assertEqual(self.value("web"), 7)
            self.assertEqual(other.count("web"), 1)
            self.assertEqual(self.stub.count("web"), 1)
        finally:
            other.stop()


class ReloadStreamTest(ReloadBase):
    def setUp(self):
        self.stub = Stub({"web": {"mode": "fresh", "desiredReplicas": WEB}})
        self.daemon = Daemon(http_config(self.stub.url), name="reload-stream")

    def tearDown(self):
        code = self.daemon.stop()
        self.stub.stop()
        self.assertEqual(code, 0, self.daemon.log())

    def test_open_stream_ends_with_ok_and_the_old_configuration_is_released(self):
        ref = es.ScaledObjectRef(name="web", namespace="default")
        stream = self.daemon.stream_is_active(ref, timeout=30)
        self.assertTrue(next(stream).result)
        self.daemon.rewrite_config(http_config(self.stub.url, lead="1m"))
        self.daemon.reload(1)
        # The stream ends cleanly (status 0: KEDA reconnects), not left on the old scaler.
        self.assertEqual(list(stream), [])
        self.assertEqual(stream.code(), grpc.StatusCode.OK)
        self.daemon.wait_for(r"reload: the previous configuration finished its last call")
        # A new stream is served by the new configuration, from the carried forecast.
        again = self.daemon.stream_is_active(ref, timeout=30)
        self.assertTrue(next(again).result)
        again.cancel()
        self.assertEqual(self.value("web"), 2)
        self.assertEqual(self.stub.count("web"), 1)


class ReloadListenTest(ReloadBase):
    def setUp(self):
        self.stub = Stub({"*": {"mode": "fresh", "desiredReplicas": WEB}})
        self.first = free_port()
        self.daemon = Daemon(http_config(self.stub.url, listen=f"127.0.0.1:{self.first}"),
                             name="reload-listen", listen=None)

    def tearDown(self):
        code = self.daemon.stop()
        self.stub.stop()
        self.assertEqual(code, 0, self.daemon.log())

    def reload_counts(self):
        text = http_get(self.daemon.http_port, "/metrics")[2]
        counts = []
        for result in ("success", "failure"):
            m = re.search(r'^kedastral_scaler_config_reloads_total\{result="%s"\} (\S+)$'
                          % result, text, re.M)
            counts.append(float(m.group(1)))
        return tuple(counts)

    def test_listen_moves_and_unbindable_keeps_old(self):
        self.assertEqual(self.daemon.port, self.first)
        self.assertEqual(self.value("web"), 5)
        # A stream on the old connection outlives the move.
        stream = self.daemon.stream_is_active(es.ScaledObjectRef(name="web",
                                                                 namespace="default"))
        self.assertTrue(next(stream).result)

        second = free_port()
        self.daemon.rewrite_config(http_config(self.stub.url, listen=f"127.0.0.1:{second}"))
        self.daemon.reload(1)
        self.assertRegex(self.daemon.log(),
                         rf"grpc server listening address=127\.0\.0\.1:{second} port={second}")
        self.assertTrue(refused(self.first))
        with grpc.insecure_channel(f"127.0.0.1:{second}") as channel:
            self.assertEqual(self.value("web", channel), 5)
        # The connection accepted on the old port goes on serving calls.
        self.assertEqual(self.value("web"), 5)

        # An address that cannot be bound: the reload fails, the current port keeps serving.
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            taken = busy.getsockname()[1]
            self.daemon.rewrite_config(http_config(self.stub.url, lead="1m", listen=f"127.0.0.1:{taken}"))
            self.daemon.reload(1, ok=False)
        self.assertRegex(self.daemon.log(),
                         r"reload failed.*" + re.escape(self.daemon.config)
                         + rf": cannot listen on 127\.0\.0\.1:{taken}: Address already in use")
        with grpc.insecure_channel(f"127.0.0.1:{second}") as channel:
            self.assertEqual(self.value("web", channel), 5)  # old config: lead 5m
        self.assertEqual(self.reload_counts(), (1, 1))

        # max_message_size applies to calls started after the reload.
        self.daemon.rewrite_config(http_config(self.stub.url, listen=f"127.0.0.1:{second}",
                                 extra="max_message_size = 64;"))
        self.daemon.reload(2)
        ref = es.ScaledObjectRef(name="web", namespace="default",
                                 scalerMetadata={"pad": "x" * 200})
        with self.assertRaises(grpc.RpcError) as cm:
            self.daemon.get_metrics(ref, "m")
        self.assertEqual(cm.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(self.value("web"), 5)

        self.daemon.proc.send_signal(signal.SIGTERM)
        self.assertEqual(list(stream), [])
        self.assertEqual(stream.code(), grpc.StatusCode.OK)
        self.assertEqual(self.daemon.proc.wait(20), 0)


class AdminListenTest(ReloadBase):
    """The admin address on reload: a move that cannot bind keeps the old port and is tried
    again by the next reload of the same file; limits change in place."""

    def test_unbindable_admin_move_is_retried(self):
        import json
        self.stub = Stub({"*": {"mode": "fresh", "desiredReplicas": WEB}})
        first = free_port()
        conf = lambda port, extra="": http_config(  # noqa: E731
            self.stub.url, extra=f'http_listen = "127.0.0.1:{port}"; {extra}')
        self.daemon = Daemon(conf(first), name="reload-admin", http_listen=None)
        try:
            self.assertEqual(self.daemon.http_port, first)
            with socket.socket() as busy:
                busy.bind(("127.0.0.1", 0))
                busy.listen(1)
                taken = busy.getsockname()[1]
                self.daemon.rewrite_config(conf(taken))
                self.daemon.reload(1)
                # (logged before "configuration applied", which reload() waited for)
                self.assertRegex(self.daemon.log(),
                                 rf"cannot serve /metrics.* on 127\.0\.0\.1:{taken}: Address "
                                 rf"already in use; they stay on 127\.0\.0\.1:{first}")
                doc = json.loads(http_get(first, "/status.json")[2])
                self.assertEqual(doc["daemon"]["http_listen"], f"127.0.0.1:{first}")
            # The port is free now: the same file, reloaded again, moves the admin server.
            self.daemon.reload(2)
            self.assertEqual(http_get(taken, "/healthz")[0], 200)
            self.assertTrue(refused(first))
            doc = json.loads(http_get(taken, "/status.json")[2])
            self.assertEqual(doc["daemon"]["http_listen"], f"127.0.0.1:{taken}")
            # Same address, new limits: they apply without a move (a 200-byte body now 413s).
            self.daemon.rewrite_config(conf(taken, 'limits = { admin_max_body = 100; };'))
            self.daemon.reload(3)
            import http.client
            c = http.client.HTTPConnection("127.0.0.1", taken, timeout=10)
            c.request("POST", "/metrics", body=b"x" * 200)
            self.assertEqual(c.getresponse().status, 413)
            c.close()
        finally:
            code = self.daemon.stop()
            self.stub.stop()
            self.assertEqual(code, 0, self.daemon.log())


class AdminSamePortTest(ReloadBase):
    """A move to another address on the admin server's own port (all interfaces -> loopback)
    cannot bind while the old server listens: the old one is given up first."""

    def test_same_port_move(self):
        self.stub = Stub({"*": {"mode": "fresh", "desiredReplicas": WEB}})
        port = free_port()
        conf = lambda host: http_config(  # noqa: E731
            self.stub.url, extra=f'http_listen = "{host}:{port}";')
        self.daemon = Daemon(conf("0.0.0.0"), name="reload-admin-port", http_listen=None)
        try:
            self.assertEqual(self.daemon.http_port, port)
            self.daemon.rewrite_config(conf("127.0.0.1"))
            self.daemon.reload(1)
            self.assertRegex(self.daemon.log(),
                             rf"admin http listening address=127\.0\.0\.1:{port} port={port}")
            import json
            doc = json.loads(http_get(port, "/status.json")[2])
            self.assertEqual(doc["daemon"]["http_listen"], f"127.0.0.1:{port}")
        finally:
            code = self.daemon.stop()
            self.stub.stop()
            self.assertEqual(code, 0, self.daemon.log())


class ConfigMap:
    """A ConfigMap volume as the kubelet lays it out and updates it: the file is a symlink
    through "..data" to a timestamped folder; an update writes a new folder, points a new
    symlink at it and renames that over "..data", then deletes the old folder."""

    NAME = "kedastral-scaler.conf"

    def __init__(self, text):
        self.root = tempfile.mkdtemp(prefix="configmap-", dir=WORK)
        self.generation = 0
        self.current = self._write(text)
        os.symlink(self.current, os.path.join(self.root, "..data"))
        os.symlink(os.path.join("..data", self.NAME), self.path)

    @property
    def path(self):
        return os.path.join(self.root, self.NAME)

    def _write(self, text):
        self.generation += 1
        name = f"..2026_12_02_06_00_{self.generation:02d}.{os.getpid()}"
        os.mkdir(os.path.join(self.root, name))
        with open(os.path.join(self.root, name, self.NAME), "w") as f:
            f.write(text)
        return name

    def update(self, text):
        old, self.current = self.current, self._write(text)
        tmp = os.path.join(self.root, "..data_tmp")
        os.symlink(self.current, tmp)
        os.replace(tmp, os.path.join(self.root, "..data"))
        os.remove(os.path.join(self.root, old, self.NAME))
        os.rmdir(os.path.join(self.root, old))


class ConfigMapReloadTest(ReloadBase):
    """No SIGHUP anywhere: the daemon notices the kubelet's symlink swap itself."""

    def setUp(self):
        self.stub = Stub({"*": {"mode": "fresh", "desiredReplicas": WEB}})
        self.map = ConfigMap(http_config(self.stub.url))
        self.daemon = Daemon(name="reload-configmap", config_path=self.map.path,
                             config_poll="100ms")

    def tearDown(self):
        code = self.daemon.stop()
        self.stub.stop()
        self.assertEqual(code, 0, self.daemon.log())

    def test_symlink_swap_reloads_and_a_broken_update_keeps_the_old(self):
        self.assertEqual(self.value("web"), 5)

        self.map.update(http_config(self.stub.url, lead="1m"))
        self.daemon.reload(1, signal_it=False)
        self.assertIn("config file changed: reloading " + self.map.path, self.daemon.log())
        self.assertEqual(self.value("web"), 2)
        self.assertEqual(self.stub.count("web"), 1)  # same source: its forecast was kept

        # A broken update: logged once with file:line, the running configuration serves on.
        self.map.update('log_level = "debug";\nsources = ( { name = "x" }\n')
        self.daemon.reload(1, ok=False, signal_it=False)
        self.assertRegex(self.daemon.log(), r"reload failed, the running configuration keeps "
                                            r"serving: .*kedastral-scaler\.conf:\d+: ")
        self.assertEqual(self.value("web"), 2)
        time.sleep(1)  # ten polls of a file that does not change: not tried again
        self.assertEqual(len(re.findall(r"reload failed", self.daemon.log())), 1)

        self.map.update(http_config(self.stub.url, lead="5m"))
        self.daemon.reload(2, signal_it=False)
        self.assertEqual(self.value("web"), 5)
        self.assertEqual(len(re.findall(r"reload failed", self.daemon.log())), 1)

    def test_sighup_of_an_unchanged_file_is_one_reload(self):
        self.daemon.reload(1)
        time.sleep(0.5)  # five polls: the watch saw the file SIGHUP read, no second reload
        self.assertEqual(len(re.findall(r"configuration applied", self.daemon.log())), 1)


if __name__ == "__main__":
    unittest.main()
