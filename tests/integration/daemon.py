# SPDX-License-Identifier: Apache-2.0
"""Test harness: runs the real kedastral-scaler with real plugins on loopback and talks to it
with python3-grpcio (gRPC C core) and protoc-generated messages. Nothing here shares code with
the daemon's own framing."""
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import grpc

BINARY = os.environ["KD_BINARY"]
PLUGIN_DIR = os.environ["KD_PLUGIN_DIR"]
PROTO_DIR = os.environ["KD_PROTO_DIR"]
WORK = os.environ.get("KD_WORK") or tempfile.mkdtemp(prefix="kd-it-")

_gen = os.path.join(WORK, "py")
os.makedirs(_gen, exist_ok=True)
subprocess.run(
    ["protoc", f"-I{PROTO_DIR}", f"--python_out={_gen}", "externalscaler.proto",
     "grpc/health/v1/health.proto", "grpc/reflection/v1/reflection.proto",
     "grpc/reflection/v1alpha/reflection.proto"],
    check=True)
sys.path.insert(0, _gen)



def _load(alias, relpath):
    # The generated grpc/... packages would shadow grpcio's own `grpc` package: load by path.
    import importlib.util
    spec = importlib.util.spec_from_file_location(alias, os.path.join(_gen, relpath))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


import externalscaler_pb2 as es  # noqa: E402
health_pb2 = _load("kd_health_pb2", "grpc/health/v1/health_pb2.py")
refl_v1 = _load("kd_refl_v1_pb2", "grpc/reflection/v1/reflection_pb2.py")
refl_v1alpha = _load("kd_refl_v1alpha_pb2", "grpc/reflection/v1alpha/reflection_pb2.py")

SERVICE = "/externalscaler.ExternalScaler/"


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def forecast(workload, replicas, generated_at, step=60, metric="http_rps"):
    return {
        "desiredReplicas": replicas,
        "generatedAt": iso(generated_at),
        "horizonSeconds": step * len(replicas),
        "metric": metric,
        "stepSeconds": step,
        "values": [float(r) * 100.0 for r in replicas],
        "workload": workload,
    }


class Daemon:
    """One daemon process. Its stderr is collected so tests can assert on log lines."""

    def __init__(self, config_text=None, args=(), env=None, name="kd", listen="127.0.0.1:0",
                 config_path=None, config_poll="0", http_listen="127.0.0.1:0"):
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=WORK)
        # KD_WRAPPER="valgrind --error-exitcode=99 ..." runs the daemon under a checker.
        wrapper = os.environ.get("KD_WRAPPER", "").split()
        # The admin server gets a free port too, so parallel daemons never fight over :8082.
        # listen=None leaves the gRPC address to the config file (reload tests move it).
        # http_listen=None leaves the admin address to the config file too.
        cmd = wrapper + [BINARY, "--plugin-dir", PLUGIN_DIR]
        if http_listen is not None:
            cmd += ["--http-listen", http_listen]
        if listen is not None:
            cmd += ["--listen", listen]
        # config_path: a file the test laid out itself (a ConfigMap's symlinks), else config_text
        # is written to one. config_poll: the file watch; off by default so that a test's
        # rewrite_config() + reload() is one reload (SIGHUP), never two.
        self.config = config_path
        if config_text is not None and config_path is None:
            self.config = os.path.join(self.dir, "kedastral-scaler.conf")
            with open(self.config, "w") as f:
                f.write(config_text)
        if self.config is not None:
            cmd += ["--config", self.config]
            if config_poll is not None:
                cmd += ["--config-poll", config_poll]
        cmd += list(args)
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.lines = []
        self._cv = threading.Condition()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=full_env, text=True)
        threading.Thread(target=self._pump, daemon=True).start()
        m = self.wait_for(r"grpc server listening .*port=(\d+)", 60 if wrapper else 20)
        if not m:
            self.proc.kill()
            raise RuntimeError("daemon did not start:\n" + "\n".join(self.lines))
        self.port = int(m.group(1))
        self.addr = f"127.0.0.1:{self.port}"
        m = self.wait_for(r"admin http listening .*port=(\d+)", 5)
        self.http_port = int(m.group(1)) if m else None
        self.channel = grpc.insecure_channel(
            self.addr, options=[("grpc.max_send_message_length", -1),
                                ("grpc.max_receive_message_length", -1)])

    def _pump(self):
        for line in self.proc.stderr:
            with self._cv:
                self.lines.append(line.rstrip("\n"))
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def wait_for(self, pattern, timeout=10.0):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cv:
            while True:
                for line in self.lines[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and seen == len(self.lines)):
                    return None
                self._cv.wait(min(left, 0.2))

    def log(self):
        with self._cv:
            return "\n".join(self.lines)

    # -- calls ------------------------------------------------------------------------------
    def unary(self, method, request, response_type, timeout=10.0, raw=False):
        call = self.channel.unary_unary(
            method,
            request_serializer=None if raw else (lambda m: m.SerializeToString()),
            response_deserializer=response_type.FromString if response_type else None)
        return call(request, timeout=timeout)

    def ref(self, name, namespace="default", **metadata):
        return es.ScaledObjectRef(name=name, namespace=namespace, scalerMetadata=metadata)

    def get_metric_spec(self, ref, **kw):
        return self.unary(SERVICE + "GetMetricSpec", ref, es.GetMetricSpecResponse, **kw)

    def get_metrics(self, ref, metric_name, **kw):
        req = es.GetMetricsRequest(scaledObjectRef=ref, metricName=metric_name)
        return self.unary(SERVICE + "GetMetrics", req, es.GetMetricsResponse, **kw)

    def is_active(self, ref, **kw):
        return self.unary(SERVICE + "IsActive", ref, es.IsActiveResponse, **kw)

    def stream_is_active(self, ref, timeout=None):
        call = self.channel.unary_stream(SERVICE + "StreamIsActive",
                                         request_serializer=lambda m: m.SerializeToString(),
                                         response_deserializer=es.IsActiveResponse.FromString)
        return call(ref, timeout=timeout)

    def rewrite_config(self, text):
        """Replaces the config file atomically, as an operator's editor or a ConfigMap does."""
        tmp = self.config + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config)

    def reload(self, n, ok=True, timeout=10.0, signal_it=True):
        """SIGHUP (unless signal_it is False: the file watch reloads), then waits for the n-th
        "applied" (or "failed") reload line."""
        if signal_it:
            self.proc.send_signal(signal.SIGHUP)
        pattern = r"reload: configuration applied" if ok else r"reload failed"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(re.findall(pattern, self.log())) >= n:
                return
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} #{n}:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.channel.close()
        for pipe in (self.proc.stdout, self.proc.stderr):
            try:
                pipe.close()
            except (OSError, ValueError):
                pass
        return self.proc.returncode


def http_get(port, path, method="GET", timeout=10):
    """One plain HTTP/1.1 request to the admin port: (status, content-type, body text)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read().decode()
    finally:
        conn.close()


def run_cli(args, env=None, timeout=30):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([BINARY] + list(args), capture_output=True, text=True, env=full_env,
                          timeout=timeout)


class Stub:
    """tests/stub/forecaster.py: a scriptable Kedastral forecaster on loopback."""

    SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "stub",
                          "forecaster.py")

    def __init__(self, table=None, tls_dir=None):
        import json as _json
        self._json = _json
        self.tls_dir = tls_dir
        cmd = ["/usr/bin/python3", self.SCRIPT] + (["--tls", tls_dir] if tls_dir else [])
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        self.port = int(self.proc.stdout.readline().strip())
        self.url = f"{'https' if tls_dir else 'http'}://127.0.0.1:{self.port}"
        if table:
            self.control(table)

    def _request(self, method, path, body=None):
        import urllib.request
        data = self._json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        ctx = None
        if self.tls_dir:
            import ssl
            ctx = ssl.create_default_context(cafile=os.path.join(self.tls_dir, "ca.pem"))
            ctx.load_cert_chain(os.path.join(self.tls_dir, "client.pem"),
                                os.path.join(self.tls_dir, "client.key"))
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return self._json.loads(r.read() or b"{}")

    def control(self, table):
        self._request("POST", "/_control", table)

    def count(self, workload):
        import urllib.parse
        return self._request("GET", "/_count?" + urllib.parse.urlencode(
            {"workload": workload}))["count"]

    def seen(self):
        return self._request("GET", "/_seen")["workloads"]

    def written(self, workload):
        """{"written": bytes, "done": bool} of the last "points" answer to workload."""
        import urllib.parse
        return self._request("GET", "/_written?" + urllib.parse.urlencode(
            {"workload": workload}))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
