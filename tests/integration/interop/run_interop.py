# SPDX-License-Identifier: Apache-2.0
"""Runs the grpc-go (KEDA's stack), gRPC C-core and grpc-js clients with the same arguments
against one External Scaler and fails unless their outputs are byte-identical.

Against the reference server (ctest interop_reference):
  run_interop.py --go-client BUILD/tests/integration/interop/go/interop-go-client \\
      --expect expected_reference.json --workload a --workload b --workload missing \\
      -- /usr/bin/python3 ref_server.py
Against the daemon, started here; its "port=N" log line (--port-regex) gives the address:
  run_interop.py --go-client GO_CLIENT --workload web --metadata scalerAddress=x:1 \\
      -- BUILD/src/kedastral-scaler --plugin-dir BUILD/plugins --listen 127.0.0.1:0 \\
         --http-listen 127.0.0.1:0 --config CONF
Against a server that is already running:
  run_interop.py --go-client GO_CLIENT --addr 127.0.0.1:PORT --workload web
From Python (e.g. with tests/integration/daemon.py's Daemon): run_interop.main([...]) returns
the exit code. Exit codes: 0 identical (and equal to --expect), 1 difference or client failure,
77 (skip) when the grpc-js client's node_modules are not installed (scripts/install-deps.sh).
The Go client is built by build_go_client.sh (ctest fixture interop_go_client_build).
"""
import argparse
import os
import re
import subprocess
import sys
import threading
import time
from concurrent import futures

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.normpath(os.path.join(HERE, "..", "node"))
SKIP = 77


class Server:
    """A server command whose stdout or stderr announces its port."""

    def __init__(self, cmd, port_regex, timeout):
        self.lines = []
        self._cv = threading.Condition()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, errors="replace")
        for pipe in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._pump, args=(pipe,), daemon=True).start()
        rx = re.compile(port_regex)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cv:
            while True:
                for line in self.lines[seen:]:
                    m = rx.search(line)
                    if m:
                        self.port = int(m.group(1))
                        return
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    break
                self._cv.wait(min(left, 0.2))
        self.stop()
        raise RuntimeError(f"server {cmd} printed no line matching {port_regex!r}:\n"
                           + self.log())

    def _pump(self, pipe):
        for line in pipe:
            with self._cv:
                self.lines.append(line.rstrip("\n"))
                self._cv.notify_all()

    def log(self):
        with self._cv:
            return "\n".join(self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def client_commands(go_client, node_dir):
    return {
        "grpc-go": [go_client],
        "c-core": ["/usr/bin/python3", os.path.join(HERE, "ccore_client.py")],
        "grpc-js": ["node", os.path.join(node_dir, "client.js")],
    }


def run_clients(addr, client_args, go_client, node_dir=NODE_DIR, timeout=120):
    """Runs the three clients concurrently; returns {name: CompletedProcess}."""
    cmds = client_commands(go_client, node_dir)

    def run(cmd):
        return subprocess.run(cmd + ["--addr", addr] + client_args, capture_output=True,
                              text=True, timeout=timeout)
    with futures.ThreadPoolExecutor(len(cmds)) as pool:
        jobs = {name: pool.submit(run, cmd) for name, cmd in cmds.items()}
        return {name: job.result() for name, job in jobs.items()}


def compare(results, expect=None):
    """Prints the outputs; returns True when all clients succeeded with identical output."""
    ok = True
    for name, res in results.items():
        if res.returncode != 0 or not res.stdout.strip():
            print(f"FAIL {name}: exit code {res.returncode}\n{res.stderr}", file=sys.stderr)
            ok = False
    outputs = {name: res.stdout.strip() for name, res in results.items()}
    distinct = set(outputs.values())
    if expect is not None:
        distinct.add(expect)
    if len(distinct) == 1:
        print(outputs["grpc-go"])
        return ok
    for name, out in outputs.items():
        print(f"--- {name}\n{out}")
    if expect is not None:
        print(f"--- expected\n{expect}")
    print("FAIL: the outputs differ", file=sys.stderr)
    return False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--addr", help="HOST:PORT of a running server (instead of a command)")
    ap.add_argument("--go-client", default=os.environ.get("KD_INTEROP_GO_CLIENT"),
                    help="grpc-go client binary built by build_go_client.sh")
    ap.add_argument("--node-dir", default=NODE_DIR, help="folder of client.js + node_modules")
    ap.add_argument("--expect", help="file holding the output all clients must print")
    ap.add_argument("--port-regex", default=r"port=(\d+)",
                    help="finds the port in the server command's output")
    ap.add_argument("--server-timeout", type=float, default=30.0)
    ap.add_argument("--workload", action="append", required=True)
    ap.add_argument("--metadata", action="append", default=[])
    ap.add_argument("--stream-wait-ms", type=int, default=1500)
    ap.add_argument("--deadline-ms", type=int, default=0)
    ap.add_argument("server", nargs="*", help="server command (after --)")
    args = ap.parse_args(argv)
    if bool(args.addr) == bool(args.server):
        ap.error("give either --addr or a server command after --")
    if not args.go_client or not os.access(args.go_client, os.X_OK):
        print(f"FAIL: no grpc-go client at {args.go_client!r}; build it with "
              "build_go_client.sh PROTO_DIR OUT_DIR", file=sys.stderr)
        return 1
    if not os.path.isdir(os.path.join(args.node_dir, "node_modules", "@grpc", "grpc-js")):
        print(f"SKIP: {args.node_dir}/node_modules has no @grpc/grpc-js; run "
              "scripts/install-deps.sh (npm install there)", file=sys.stderr)
        return SKIP

    client_args = []
    for w in args.workload:
        client_args += ["--workload", w]
    for m in args.metadata:
        client_args += ["--metadata", m]
    client_args += ["--stream-wait-ms", str(args.stream_wait_ms),
                    "--deadline-ms", str(args.deadline_ms)]
    expect = None
    if args.expect:
        with open(args.expect, encoding="utf-8") as f:
            expect = f.read().strip()

    server = None
    addr = args.addr
    if not addr:
        try:
            server = Server(args.server, args.port_regex, args.server_timeout)
        except (OSError, RuntimeError) as err:
            print(f"FAIL: {err}", file=sys.stderr)
            return 1
        addr = f"127.0.0.1:{server.port}"
    ok = False
    try:
        ok = compare(run_clients(addr, client_args, args.go_client, args.node_dir), expect)
    except subprocess.TimeoutExpired as err:
        print(f"FAIL: {err}", file=sys.stderr)
    finally:
        if server is not None:
            rc = server.stop()
            if not ok:
                print(f"--- server log (exit code {rc})\n{server.log()}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
