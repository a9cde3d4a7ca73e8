# SPDX-License-Identifier: Apache-2.0
"""The three independent TLS clients behind one interface. Each takes
  --addr HOST:PORT [--ca PEM] [--cert PEM --key PEM] [--server-name NAME] [--plaintext]
  [--calls N [--pause]]
makes N GetMetricSpec calls on one channel (with --pause it waits for a line on stdin between
calls) and prints one JSON line per call: {"client", "call", "ok", "metric"|"code","error"};
grpc-go adds the negotiated "alpn" and the server certificate's "issuer"."""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
NODE_MODULES = os.path.join(SRC, "tests", "integration", "node", "node_modules")


def build_go_client(interop_go_client, out_dir):
    """Build go_client/main.go offline against the stubs the interop fixture generated
    (interop-go-client's folder holds gopath/ and gocache/). Returns the binary."""
    interop_out = os.path.dirname(interop_go_client)
    binary = os.path.join(out_dir, "tls-go-client")
    env = dict(os.environ, GO111MODULE="off", GOPROXY="off", GOFLAGS="", GOTOOLCHAIN="local",
               CGO_ENABLED="0",
               GOPATH=f"{interop_out}/gopath:/usr/share/gocode",
               GOCACHE=f"{interop_out}/gocache")
    subprocess.run(["go", "build", "-o", binary, os.path.join(HERE, "go_client", "main.go")],
                   env=env, check=True)
    return binary


class Clients:
    def __init__(self, go_binary, proto_dir):
        self.commands = {
            "grpc-go": [go_binary],
            "grpcio": ["/usr/bin/python3", os.path.join(HERE, "tls_client.py"),
                       "--proto-dir", proto_dir],
            "grpc-js": ["node", os.path.join(HERE, "tls_client.js"), "--proto-dir", proto_dir],
        }
        self.env = dict(os.environ, NODE_PATH=NODE_MODULES, KD_PROTO_DIR=proto_dir)
        self.names = list(self.commands)

    def _args(self, addr, ca=None, cert=None, key=None, plaintext=False, calls=1, pause=False):
        args = ["--addr", addr, "--calls", str(calls)]
        if ca:
            args += ["--ca", ca]
        if cert:
            args += ["--cert", cert, "--key", key]
        if plaintext:
            args.append("--plaintext")
        if pause:
            args.append("--pause")
        return args

    def run(self, name, addr, **kw):
        """One client run to completion: its JSON lines."""
        p = subprocess.run(self.commands[name] + self._args(addr, **kw), env=self.env,
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"{name} exited {p.returncode}: {p.stderr}")
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def start(self, name, addr, calls=2, **kw):
        """A client that made its first call and waits on stdin: (process, first line)."""
        p = subprocess.Popen(self.commands[name] + self._args(addr, calls=calls, pause=True, **kw),
                             env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        first = p.stdout.readline()
        if not first:
            p.kill()
            raise AssertionError(f"{name} printed nothing: {p.stderr.read()}")
        return p, json.loads(first)

    @staticmethod
    def resume(p):
        """Let a started client make its next call: its line."""
        p.stdin.write("\n")
        p.stdin.flush()
        line = p.stdout.readline()
        p.stdin.close()
        p.wait(60)
        p.stdout.close()
        p.stderr.close()
        return json.loads(line)
