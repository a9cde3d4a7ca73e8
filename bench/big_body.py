#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Cached GetMetrics latency while big forecaster bodies arrive (issue 8, section 2).

Workload B ("small-b", a 1 KB forecast) is asked back to back by h2load (-c1 -m1, closed loop,
--log-file), so every call's latency includes whatever the daemon's single loop was doing
when it arrived. Two runs of DURATION seconds each:
  quiet  only B is asked;
  big    workload A ("big-a") is asked too, every 100 ms, so its entry refreshes every
         `refresh` (250 ms) with a SIZE-byte forecast (default 4 MiB: 100,000 values and
         desiredReplicas plus an unknown member of 100,000 numbers, all within the limits).
Prints min, p50, p99, p99.9 and max of B's latencies and how many big bodies were served.

  BUILD=build bench/big_body.py              DURATION=10 SIZE=4194304
Pinning: the daemon on CPU 0; h2load, the forecaster and A's client on CPU 1.
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", os.path.join(HERE, "build"))
DURATION = int(os.environ.get("DURATION", "10"))
SIZE = int(os.environ.get("SIZE", str(4 * 1024 * 1024)))


def pb_string(field, value):
    data = value.encode()
    return bytes([field << 3 | 2]) + varint(len(data)) + data


def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


def get_metrics_body(workload):
    """A gRPC-framed GetMetricsRequest, protobuf written by hand (no generated code needed)."""
    entry = pb_string(1, "workload") + pb_string(2, workload)
    ref = pb_string(1, workload) + pb_string(2, "default") + \
        bytes([3 << 3 | 2]) + varint(len(entry)) + entry
    msg = bytes([1 << 3 | 2]) + varint(len(ref)) + ref + pb_string(2, "m")
    return b"\x00" + struct.pack(">I", len(msg)) + msg


def rfc3339_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def big_parts(workload, size):
    """The big forecast around its generatedAt: (head, tail), to be joined with the time."""
    n = 100_000
    values = ",".join("%.17g" % (400 + i * 0.001 + 1e-9) for i in range(n))
    replicas = ",".join(str(5 + i % 7) for i in range(n))
    head = '{"desiredReplicas":[%s],"generatedAt":"' % replicas
    tail = '","horizonSeconds":6000000,"metric":"rps","stepSeconds":60,"values":[%s],' \
        '"workload":"%s","zpad":[' % (values, workload)
    room = size - len(head) - len(tail) - 20 - 3
    pad = ",".join(["123456.789"] * max(1, room // 11))
    return head.encode(), (tail + pad + "]}\n").encode()


def small_body(workload):
    return ('{"desiredReplicas":[2,3,4,5,5,5],"generatedAt":"%s","horizonSeconds":360,'
            '"metric":"rps","stepSeconds":60,"values":[1,2,3,4,5,6],"workload":"%s"}\n'
            % (rfc3339_now(), workload)).encode()


def forecaster(port_out):
    """The forecaster (run in its own process): big-a gets the big body, the rest a small one."""
    head, tail = big_parts("big-a", SIZE)
    served = {"big": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            w = urllib.parse.parse_qs(url.query).get("workload", [""])[0]
            if url.path == "/_served":
                body = str(served["big"]).encode()
            elif w == "big-a":
                served["big"] += 1
                body = head + rfc3339_now().encode() + tail
            else:
                body = small_body(w)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    print(srv.server_address[1], len(head) + 20 + len(tail), file=port_out, flush=True)
    srv.serve_forever()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("bench: nothing listens on port %d" % port)


def ask_a(port, stop):
    """Asks for A every 100 ms, so that its entry keeps refreshing (the cache refreshes only
    what is asked)."""
    import grpc
    ch = grpc.insecure_channel("127.0.0.1:%d" % port)
    call = ch.unary_unary("/externalscaler.ExternalScaler/GetMetrics")
    req = get_metrics_body("big-a")[5:]
    while not stop.is_set():
        try:
            call(req, timeout=5)
        except grpc.RpcError:
            pass
        stop.wait(0.1)
    ch.close()


def build_commit():
    """The commit of the tree BUILD was configured from (its CMakeCache says where)."""
    src = HERE
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        for line in f:
            if line.startswith("CMAKE_HOME_DIRECTORY:INTERNAL="):
                src = line.split("=", 1)[1].strip()
    return subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()


def percentile(sorted_us, p):
    return sorted_us[min(len(sorted_us) - 1, int(len(sorted_us) * p))]


def run_b(port, work, label):
    body = os.path.join(work, "gm.bin")
    with open(body, "wb") as f:
        f.write(get_metrics_body("small-b"))
    log = os.path.join(work, "h2load-%s.log" % label)
    subprocess.run(["taskset", "-c", "1", "h2load", "-c", "1", "-m", "1", "-D", str(DURATION),
                    "-d", body, "-H", "content-type: application/grpc", "-H", "te: trailers",
                    "--log-file", log,
                    "http://127.0.0.1:%d/externalscaler.ExternalScaler/GetMetrics" % port],
                   check=True, stdout=subprocess.DEVNULL)
    with open(log) as f:
        us = sorted(int(line.split("\t")[2]) for line in f if line.strip())
    return us


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--forecaster":
        forecaster(sys.stdout)
        return
    work = tempfile.mkdtemp()
    fc = subprocess.Popen(["taskset", "-c", "1", sys.executable, os.path.abspath(__file__),
                           "--forecaster"], stdout=subprocess.PIPE, text=True)
    fc_port, big_size = (int(x) for x in fc.stdout.readline().split())
    conf = os.path.join(work, "bench.conf")
    with open(conf, "w") as f:
        f.write('sources = ( { name = "fc"; plugin = "http"; url = "http://127.0.0.1:%d";\n'
                '              refresh = "250ms"; timeout = "5s"; max_body = "16MiB"; } );\n'
                'policies = ( { name = "p"; plugin = "max"; lead_time = "5m"; } );\n'
                'workloads = ( { match = "*"; source = "fc"; policy = "p"; } );\n' % fc_port)
    port = free_port()
    daemon = subprocess.Popen(["taskset", "-c", "0", os.path.join(BUILD, "src/kedastral-scaler"),
                               "--config", conf, "--plugin-dir", os.path.join(BUILD, "plugins"),
                               "--listen", "127.0.0.1:%d" % port, "--http-listen", "127.0.0.1:0",
                               "--log-level", "warn"], stderr=open(os.path.join(work, "d.log"), "w"))
    try:
        wait_port(port)
        commit = build_commit()
        print("== %s build %s (commit %s) big body %d bytes, %d s per run, load %s" % (
            time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), BUILD, commit, big_size,
            DURATION, open("/proc/loadavg").read().split()[0]))
        results = {}
        for label in ("quiet", "big"):
            stop = threading.Event()
            asker = None
            if label == "big":
                asker = threading.Thread(target=ask_a, args=(port, stop))
                asker.start()
                time.sleep(1)  # A's first fetch and the refreshes under way
            before = int(urllib.request.urlopen("http://127.0.0.1:%d/_served" % fc_port).read())
            us = run_b(port, work, label)
            served = int(urllib.request.urlopen("http://127.0.0.1:%d/_served" % fc_port).read())
            stop.set()
            if asker:
                asker.join()
            results[label] = us
            print("%-5s B calls %7d  min %5d us  p50 %5d  p99 %6d  p99.9 %6d  max %7d us  "
                  "big bodies served meanwhile %d" % (
                      label, len(us), us[0], percentile(us, 0.5), percentile(us, 0.99),
                      percentile(us, 0.999), us[-1], served - before))
    finally:
        daemon.terminate()
        daemon.wait()
        fc.terminate()
        fc.wait()


if __name__ == "__main__":
    import urllib.request
    main()
