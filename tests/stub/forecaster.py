#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# A scriptable stand-in for the Kedastral forecaster (GET /forecast/current), for tests of the
# http source: each workload answers in a mode (fresh, stale, 404, hang, reset, ...).
"""Stub Kedastral forecaster.

Usage: forecaster.py [--control FILE] [--tls DIR]

Listens on 127.0.0.1 on a free port and prints that port on the first line of stdout.
With --tls it serves HTTPS requiring a client certificate (TLS 1.3, as the forecaster's
--tls-enabled), with a throwaway CA made by the openssl command in DIR: ca.pem, server.pem,
server.key, client.pem, client.key (kept if already there).

Behaviour per workload comes from a JSON object {"<workload>": {"mode": ..., ...}}, read from
FILE at every request (if given) and overridden by whatever was POSTed to /_control. The key
"*" applies to workloads not listed; without it they get 404 like the real forecaster.

Modes (extra keys in brackets):
  fresh      200, generatedAt now (UTC, "Z")       [desiredReplicas, values, stepSeconds, metric,
             age: generatedAt that many seconds ago (fractions kept, negative: ahead),
             at: generatedAt this Unix time (fractions kept),
             claim: name this workload in the body instead]
  stale      200, generatedAt one hour ago
  offset     200, generatedAt now written with a +02:00 offset
  array      200, a JSON array: another workload's forecast first, then this one's
  chunked    200, fresh body sent with Transfer-Encoding: chunked in small chunks
  slow       fresh, after delay_ms milliseconds    [delay_ms]
  hang       never answers (the connection stays open until the stub exits)
  404        404 with the forecaster's error body
  500        500 {"error":"internal server error"}
  status     any status with any body                [status, body]
  reset      headers and half the body, then a TCP reset
  truncated  headers and half the body, then a normal close (Content-Length not met)
  malformed  200 with JSON cut short
  wrongtypes 200 with "stepSeconds":"60"
  empty      200 with an empty body
  huge       200 with a size-byte valid JSON body   [size (default 5 MiB), chunked]
  points     200, chunked: desiredReplicas with count elements, in 64 KiB chunks from a socket
             with a 64 KiB send buffer, counting the bytes the kernel took [count]
  redirect   302 to the forecast of workload "to"   [to]

Fresh-style bodies echo the workload exactly as decoded from the query, so a test can see what
arrived. Other endpoints:
  GET  /_count?workload=x  {"count": n, "headers": {...last request's headers...}}
  GET  /_seen              {"workloads": [every decoded workload, in arrival order]}
  GET  /_connections       {"forecast_connections": TCP connections that carried a forecast GET}
  GET  /_written?workload=x {"written": body bytes of the last "points" answer the kernel took,
                            "done": whether that answer is over (sent, or the client hung up)}
  POST /_control           merge a JSON object into the table above
"""
import argparse
import datetime
import itertools
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
CONTROL = {}
COUNTS = {}
LAST_HEADERS = {}
SEEN = []
FORECAST_CONNECTIONS = set()
WRITTEN = {}
SNDBUF = 65536
STOP = threading.Event()
CONNECTION_NUMBERS = itertools.count()
CONTROL_FILE = None


def spec_for(workload):
    table = {}
    if CONTROL_FILE and os.path.exists(CONTROL_FILE):
        with open(CONTROL_FILE, encoding="utf-8") as f:
            table.update(json.load(f))
    with LOCK:
        table.update(CONTROL)
    return table.get(workload) or table.get("*") or {"mode": "404"}


def rfc3339(ts, offset_hours=0, fraction=False):
    tz = datetime.timezone(datetime.timedelta(hours=offset_hours))
    t = datetime.datetime.fromtimestamp(ts if fraction else int(ts), tz)
    return t.isoformat(timespec="milliseconds" if fraction else "seconds").replace("+00:00", "Z")


def forecast(workload, spec, generated_at):
    return {
        "desiredReplicas": spec.get("desiredReplicas", [2, 3, 5, 4]),
        "generatedAt": generated_at,
        "horizonSeconds": spec.get("horizonSeconds", 240),
        "metric": spec.get("metric", "http_rps"),
        "stepSeconds": spec.get("stepSeconds", 60),
        "values": spec.get("values", [100.5, 150, 250, 200]),
        "workload": workload,
    }


def encode(doc):
    # The forecaster's encoder: compact, sorted keys, one trailing newline.
    return (json.dumps(doc, separators=(",", ":"), sort_keys=True) + "\n").encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Go's server

    def setup(self):
        super().setup()
        with LOCK:
            self.connection_number = next(CONNECTION_NUMBERS)

    def log_message(self, fmt, *args):
        pass

    def send_body(self, status, body, content_type="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        update = json.loads(self.rfile.read(length) or b"{}")
        with LOCK:
            CONTROL.update(update)
        self.send_body(200, b"{}\n")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        workload = query.get("workload", [""])[0]
        if url.path == "/_count":
            with LOCK:
                doc = {"count": COUNTS.get(workload, 0),
                       "headers": LAST_HEADERS.get(workload, {})}
            return self.send_body(200, encode(doc))
        if url.path == "/_seen":
            with LOCK:
                doc = {"workloads": list(SEEN)}
            return self.send_body(200, encode(doc))
        if url.path == "/_written":
            with LOCK:
                doc = dict(WRITTEN.get(workload, {"written": 0, "done": False}))
            return self.send_body(200, encode(doc))
        if url.path == "/_connections":
            with LOCK:
                doc = {"forecast_connections": len(FORECAST_CONNECTIONS)}
            return self.send_body(200, encode(doc))
        if url.path != "/forecast/current":
            return self.send_body(404, b"404 page not found\n", "text/plain; charset=utf-8")
        if not workload:
            return self.send_body(400, encode({"error": "workload parameter required"}))
        with LOCK:
            COUNTS[workload] = COUNTS.get(workload, 0) + 1
            LAST_HEADERS[workload] = dict(self.headers.items())
            SEEN.append(workload)
            FORECAST_CONNECTIONS.add(self.connection_number)
        self.answer(workload, spec_for(workload))

    def answer(self, workload, spec):
        mode = str(spec.get("mode", "fresh"))
        now = time.time()
        if mode == "slow":
            time.sleep(spec.get("delay_ms", 500) / 1000.0)
            mode = "fresh"
        if mode == "fresh":
            at = rfc3339(now)
            if "age" in spec or "at" in spec:
                at = rfc3339(float(spec["at"]) if "at" in spec else now - float(spec["age"]),
                             fraction=True)
            return self.send_body(200, encode(forecast(spec.get("claim", workload), spec, at)))
        if mode == "stale":
            return self.send_body(200, encode(forecast(workload, spec, rfc3339(now - 3600))))
        if mode == "offset":
            return self.send_body(200, encode(forecast(workload, spec, rfc3339(now, 2))))
        if mode == "array":
            other = forecast("someone-else", {"desiredReplicas": [99]}, rfc3339(now))
            return self.send_body(200, encode([other, forecast(workload, spec, rfc3339(now))]))
        if mode == "chunked":
            return self.send_chunked(encode(forecast(workload, spec, rfc3339(now))), 7)
        if mode == "hang":
            STOP.wait()
            self.close_connection = True
            return None
        if mode == "404":
            msg = "snapshot not found for workload " + json.dumps(workload)
            return self.send_body(404, encode({"error": msg}))
        if mode == "500":
            return self.send_body(500, encode({"error": "internal server error"}))
        if mode == "status":
            return self.send_body(int(spec["status"]), spec.get("body", "").encode())
        if mode in ("reset", "truncated"):
            return self.send_half(encode(forecast(workload, spec, rfc3339(now))), mode == "reset")
        if mode == "malformed":
            return self.send_body(200, b'{"workload":"x","values":[1,2')
        if mode == "wrongtypes":
            doc = forecast(workload, spec, rfc3339(now))
            doc["stepSeconds"] = "60"
            return self.send_body(200, encode(doc))
        if mode == "empty":
            return self.send_body(200, b"")
        if mode == "huge":
            size = int(spec.get("size", 5 * 1024 * 1024))
            head = b'{"workload":"' + workload.encode() + b'","pad":"'
            body = head + b"a" * max(0, size - len(head) - 2) + b'"}'
            if spec.get("chunked"):
                return self.send_chunked(body, 65536)
            return self.send_body(200, body)
        if mode == "points":
            return self.send_points(workload, int(spec["count"]))
        if mode == "redirect":
            target = "/forecast/current?workload=" + urllib.parse.quote(spec["to"], safe="")
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self.send_body(500, encode({"error": "stub: unknown mode " + mode}))

    def send_chunked(self, body, size):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for i in range(0, len(body), size):
                piece = body[i:i + size]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send_points(self, workload, count):
        # A small send buffer keeps what the kernel holds for a client that stopped reading
        # small; the test's bound adds it and the client's receive buffer.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
        body = b'{"workload":"' + workload.encode() + b'","desiredReplicas":[' + \
            b"1," * (count - 1) + b"1]}"
        with LOCK:
            WRITTEN[workload] = {"written": 0, "done": False}
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            for i in range(0, len(body), 65536):
                piece = body[i:i + 65536]
                self.connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                with LOCK:
                    WRITTEN[workload]["written"] += len(piece)
            self.connection.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True
        with LOCK:
            WRITTEN[workload]["done"] = True

    def send_half(self, body, is_reset):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        time.sleep(0.05)  # let the half arrive before the end
        if is_reset:
            # SO_LINGER with a zero timeout turns close() into a RST; closing the fd here, before
            # socketserver's own shutdown(SHUT_WR), keeps a FIN from going out first.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            os.close(self.connection.detach())
        else:
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # listen() backlog: tests open many connections at once

    def handle_error(self, request, client_address):
        # Clients that hang up (cancelled, timed out, over max_body) are the point of the
        # tests, not errors.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def make_certs(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all EC P-256."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, cwd=d, capture_output=True)

    if os.path.exists(os.path.join(d, "client.pem")):
        return
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=kedastral test CA")
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                      ("client", "extendedKeyUsage=clientAuth")):
        with open(os.path.join(d, name + ".ext"), "w", encoding="ascii") as f:
            f.write(ext + "\n")
        run("req", *ec, "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=" + name)
        run("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", name + ".ext")


def tls_context(d):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(os.path.join(d, "server.pem"), os.path.join(d, "server.key"))
    ctx.load_verify_locations(os.path.join(d, "ca.pem"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def main():
    global CONTROL_FILE
    parser = argparse.ArgumentParser(description="Stub Kedastral forecaster")
    parser.add_argument("--control", help="JSON file: workload -> behaviour")
    parser.add_argument("--tls", metavar="DIR", help="serve HTTPS with mTLS; certificates in DIR")
    args = parser.parse_args()
    CONTROL_FILE = args.control

    server = Server(("127.0.0.1", 0), Handler)
    if args.tls:
        make_certs(args.tls)
        # Handshakes happen in accept(); a failed one is an OSError socketserver shrugs off.
        server.socket = tls_context(args.tls).wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        STOP.set()


if __name__ == "__main__":
    sys.exit(main())
