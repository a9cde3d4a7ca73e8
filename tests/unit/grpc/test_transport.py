# SPDX-License-Identifier: Apache-2.0
# Interop test of the gRPC transport: drives grpc_test_server with independent clients
# (python3-grpcio, the nghttp CLI, and hand-written HTTP/2 frames over a raw socket).
# Usage: /usr/bin/python3 test_transport.py path/to/grpc_test_server
import os
import queue
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

SERVER = None  # subprocess.Popen
PORT = None
DEFAULT_DEADLINE_MS = 1000
MAX_MESSAGE = 4 << 20

# ---- raw HTTP/2 ------------------------------------------------------------------------------
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY = 0, 1, 3, 4, 6, 7
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def hpack_int(n):
    # 7-bit prefix integer, no Huffman flag
    if n < 127:
        return bytes([n])
    out, n = [127], n - 127
    while n >= 128:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def hpack(headers):
    # literal header field without indexing, new name: no dynamic table, no Huffman
    out = b""
    for name, value in headers:
        out += b"\x00" + hpack_int(len(name)) + name.encode() + hpack_int(len(value)) + value.encode()
    return out


def grpc_msg(body, flag=0):
    return bytes([flag]) + struct.pack(">I", len(body)) + body


def request_headers(path, extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "test"),
            ("content-type", "application/grpc"), ("te", "trailers")] + list(extra)


class Raw:
    def __init__(self, preface=True):
        self.sock = socket.create_connection(("127.0.0.1", PORT), timeout=15)
        self.buf = b""
        if preface:
            self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0))

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def read_frame(self):
        """(type, flags, stream_id, payload), or None at EOF."""
        if not self._fill(9):
            return None
        length = int.from_bytes(self.buf[:3], "big")
        if not self._fill(9 + length):
            return None
        ftype, flags = self.buf[3], self.buf[4]
        sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
        payload = self.buf[9:9 + length]
        self.buf = self.buf[9 + length:]
        return ftype, flags, sid, payload

    def read_until(self, pred):
        frames = []
        while True:
            f = self.read_frame()
            if f is None:
                return frames, False
            frames.append(f)
            if pred(f):
                return frames, True

    def read_to_eof(self):
        frames = []
        try:
            while True:
                f = self.read_frame()
                if f is None:
                    return frames
                frames.append(f)
        except ConnectionResetError:
            return frames

    def close(self):
        self.sock.close()


# ---- nghttp CLI --------------------------------------------------------------------------------
def nghttp(path, headers=(), data=None):
    """Run nghttp against the server; return (response header dict, list of HEADERS flags)."""
    args = ["nghttp", "-v", "--no-dep", "-t", "15"]
    for h in headers:
        args += ["-H", h]
    tmp = None
    if data is not None:
        tmp = tempfile.NamedTemporaryFile(delete=False)
        tmp.write(data)
        tmp.close()
        args += ["-d", tmp.name]
    args.append("http://127.0.0.1:%d%s" % (PORT, path))
    try:
        out = subprocess.run(args, capture_output=True, timeout=30).stdout.decode("utf-8", "replace")
    finally:
        if tmp:
            os.unlink(tmp.name)
    got, flags = {}, []
    for line in out.splitlines():
        if "] recv (stream_id=" in line:
            kv = line.split(") ", 1)[1]
            name, value = kv.split(": ", 1)
            got[name] = value
        if "] recv HEADERS frame" in line:
            flags.append(int(line.split("flags=")[1].split(",")[0], 16))
    return got, flags


class Transport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.channel = grpc.insecure_channel("127.0.0.1:%d" % PORT)
        cls.unary = cls.channel.unary_unary("/test.Echo/Unary")

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()

    def call_error(self, path, req=b"", **kw):
        with self.assertRaises(grpc.RpcError) as cm:
            self.channel.unary_unary(path)(req, **kw)
        return cm.exception

    def open_calls(self):
        text = self.channel.unary_unary("/test.Stats/Get")(b"", timeout=10).decode()
        calls, closed = (int(p.split("=")[1]) for p in text.split())
        return calls - closed

    def wait_no_open_calls(self):
        for _ in range(200):
            if self.open_calls() == 0:
                return
            time.sleep(0.05)
        self.fail("calls still open: %d" % self.open_calls())

    # -- grpcio ---------------------------------------------------------------------------------
    def test_echo_sizes(self):
        for req in (b"", b"hello", os.urandom(3 << 20)):
            self.assertEqual(self.unary(req, timeout=30), req)

    def test_empty_reply_is_a_message(self):
        self.assertEqual(self.channel.unary_unary("/test.Echo/Empty")(b"abc", timeout=10), b"")

    def test_fail_status_and_decoded_message(self):
        e = self.call_error("/test.Echo/Fail", timeout=10)
        self.assertEqual(e.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(e.details(), 'no such thing: caf\u00e9 100% \u20ac\n"end"')

    def test_deadline_from_grpc_timeout(self):
        e = self.call_error("/test.Echo/Slow", timeout=0.3)
        self.assertEqual(e.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.wait_no_open_calls()

    def test_default_deadline_without_grpc_timeout(self):
        e = self.call_error("/test.Echo/Slow")
        self.assertEqual(e.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertEqual(e.details(), "deadline exceeded")  # the server's words, not the client's
        self.wait_no_open_calls()

    def test_later_reply_and_deadline_frees_pending_work(self):
        self.assertEqual(self.channel.unary_unary("/test.Echo/Later")(b"xyz", timeout=10), b"xyz")
        e = self.call_error("/test.Echo/Later", b"xyz", timeout=0.05)
        self.assertEqual(e.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.wait_no_open_calls()

    def test_server_stream_count(self):
        for n in (0, 1, 7, 200):
            got = list(self.channel.unary_stream("/test.Echo/ServerStream")(bytes([n]), timeout=10))
            self.assertEqual(got, [bytes([i]) for i in range(n)])

    def test_bidi_request_by_request(self):
        q = queue.Queue()

        def requests():
            while True:
                item = q.get()
                if item is None:
                    return
                yield item

        responses = self.channel.stream_stream("/test.Echo/Bidi")(requests(), timeout=10)
        for i in range(5):
            q.put(b"msg-%d" % i)
            self.assertEqual(next(responses), b"msg-%d" % i)  # before the client half-closes
        q.put(None)
        self.assertEqual(list(responses), [])
        self.assertEqual(responses.code(), grpc.StatusCode.OK)

    def test_bidi_without_messages(self):
        responses = self.channel.stream_stream("/test.Echo/Bidi")(iter(()), timeout=10)
        self.assertEqual(list(responses), [])
        self.assertEqual(responses.code(), grpc.StatusCode.OK)

    def test_cancel_endless(self):
        call = self.channel.unary_stream("/test.Echo/Endless")(b"first")
        self.assertEqual(next(call), b"first")
        call.cancel()
        self.assertEqual(call.code(), grpc.StatusCode.CANCELLED)
        self.wait_no_open_calls()  # on_close ran for the cancelled call
        self.assertEqual(self.unary(b"still alive", timeout=10), b"still alive")

    def test_1000_concurrent_unary(self):
        futures = [self.unary.future(b"req-%d" % i, timeout=60) for i in range(1000)]
        for i, f in enumerate(futures):
            self.assertEqual(f.result(), b"req-%d" % i)

    def test_message_larger_than_max(self):
        e = self.call_error("/test.Echo/Unary", b"x" * (MAX_MESSAGE + 1), timeout=30)
        self.assertEqual(e.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertEqual(e.details(), "grpc: received message larger than max (%d vs. %d)"
                         % (MAX_MESSAGE + 1, MAX_MESSAGE))
        self.assertEqual(len(self.unary(b"y" * MAX_MESSAGE, timeout=30)), MAX_MESSAGE)

    def test_unknown_paths(self):
        cases = [
            ("/test.Echo/Nope", "unknown method Nope for service test.Echo"),
            ("/other.Svc/Unary", "unknown service other.Svc"),
            ("/test.Echo", 'malformed method name: "/test.Echo"'),
        ]
        for path, words in cases:
            e = self.call_error(path, timeout=10)
            self.assertEqual(e.code(), grpc.StatusCode.UNIMPLEMENTED, path)
            self.assertEqual(e.details(), words)

    # -- nghttp ---------------------------------------------------------------------------------
    def test_bad_content_type(self):
        for ct in ("text/plain", "application/grpcx", "application/json"):
            got, flags = nghttp("/test.Echo/Unary", ["content-type: " + ct], grpc_msg(b"hi"))
            self.assertEqual(got[":status"], "415", ct)
            self.assertEqual(got["grpc-status"], "3")
            self.assertEqual(got["grpc-message"], 'invalid gRPC request content-type "%s"' % ct)
            self.assertEqual(flags, [END_STREAM | END_HEADERS])  # one Trailers-Only block

    def test_accepted_content_types(self):
        for ct in ("application/grpc", "application/grpc+proto", "application/grpc;charset=x"):
            got, flags = nghttp("/test.Echo/Unary", ["content-type: " + ct], grpc_msg(b"hi"))
            self.assertEqual(got[":status"], "200", ct)
            self.assertEqual(got["grpc-status"], "0")
            self.assertEqual(flags, [END_HEADERS, END_STREAM | END_HEADERS])

    def test_get_is_405(self):
        got, _ = nghttp("/test.Echo/Unary", ["content-type: application/grpc"])
        self.assertEqual(got[":status"], "405")
        self.assertEqual(got["grpc-status"], "13")
        self.assertEqual(got["grpc-message"],
                         'Received a HEADERS frame with :method "GET" which should be POST')

    def test_compressed_flag(self):
        cases = [
            (["grpc-encoding: gzip"], 'grpc: Decompressor is not installed for grpc-encoding "gzip"'),
            ([], "grpc: compressed flag set with identity or empty encoding"),
            (["grpc-encoding: identity"], "grpc: compressed flag set with identity or empty encoding"),
        ]
        for extra, words in cases:
            got, _ = nghttp("/test.Echo/Unary", ["content-type: application/grpc"] + extra,
                            grpc_msg(b"zz", flag=1))
            self.assertEqual(got["grpc-status"], "12", extra)
            self.assertEqual(got["grpc-accept-encoding"], "identity")
            self.assertEqual(got["grpc-message"], words)
        # grpc-encoding alone, with an uncompressed message, is fine
        got, _ = nghttp("/test.Echo/Unary", ["content-type: application/grpc", "grpc-encoding: gzip"],
                        grpc_msg(b"zz"))
        self.assertEqual(got["grpc-status"], "0")

    def test_malformed_grpc_timeout(self):
        for value in ("1x", "123456789S", "S", "-1S"):
            got, _ = nghttp("/test.Echo/Unary", ["content-type: application/grpc",
                                                 "grpc-timeout: " + value], grpc_msg(b"hi"))
            self.assertEqual(got[":status"], "400", value)
            self.assertEqual(got["grpc-status"], "13")
            self.assertEqual(got["grpc-message"], 'malformed grpc-timeout: "%s"' % value)

    def test_each_check_quotes_its_own_header(self):
        # A bad :method before a bad grpc-timeout: the timeout answers (grpc-go's order) and
        # its message quotes the timeout, not the method.
        got, _ = nghttp("/test.Echo/Unary", [":method: GET", "content-type: application/grpc",
                                             "grpc-timeout: bogus"], grpc_msg(b"hi"))
        self.assertEqual(got[":status"], "400")
        self.assertEqual(got["grpc-message"], 'malformed grpc-timeout: "bogus"')

    def test_unary_cardinality(self):
        got, _ = nghttp("/test.Echo/Unary", ["content-type: application/grpc"], b"")
        self.assertEqual(got["grpc-status"], "13")
        self.assertEqual(got["grpc-message"], "grpc: cardinality violation: received no request "
                         "message from non-client-streaming RPC")
        got, _ = nghttp("/test.Echo/Unary", ["content-type: application/grpc"],
                        grpc_msg(b"a") + grpc_msg(b"b"))
        self.assertEqual(got["grpc-status"], "13")
        self.assertTrue(got["grpc-message"].startswith("grpc: cardinality violation: expected <EOF>"))

    def test_truncated_message_at_end_of_stream(self):
        got, _ = nghttp("/test.Echo/Unary", ["content-type: application/grpc"], grpc_msg(b"abc")[:6])
        self.assertEqual(got["grpc-status"], "13")

    # -- raw frames -----------------------------------------------------------------------------
    def test_server_settings_first(self):
        raw = Raw(preface=False)  # the server speaks first, before our preface
        ftype, flags, sid, payload = raw.read_frame()
        self.assertEqual((ftype, flags, sid), (SETTINGS, 0, 0))
        settings = {int.from_bytes(payload[i:i + 2], "big"): int.from_bytes(payload[i + 2:i + 6], "big")
                    for i in range(0, len(payload), 6)}
        self.assertGreaterEqual(settings[0x3], 1000)  # MAX_CONCURRENT_STREAMS
        raw.close()

    def test_ping_acked(self):
        raw = Raw()
        for opaque in (b"12345678", b"abcdefgh", b"\x00" * 8):  # several pings: never punished
            raw.send(frame(PING, 0, 0, opaque))
            frames, ok = raw.read_until(lambda f: f[0] == PING)
            self.assertTrue(ok)
            self.assertEqual(frames[-1][1], ACK)
            self.assertEqual(frames[-1][3], opaque)
        raw.close()

    def test_message_split_across_data_frames(self):
        raw = Raw()
        body = bytes(range(256)) * 2
        wire = grpc_msg(body)
        raw.send(frame(HEADERS, END_HEADERS, 1, hpack(request_headers("/test.Echo/Unary"))))
        for i, b in enumerate(wire):  # one byte per DATA frame, prefix split everywhere
            raw.send(frame(DATA, END_STREAM if i == len(wire) - 1 else 0, 1, bytes([b])))
        frames, ok = raw.read_until(lambda f: f[0] == HEADERS and f[1] & END_STREAM and f[2] == 1)
        self.assertTrue(ok)
        data = b"".join(f[3] for f in frames if f[0] == DATA and f[2] == 1)
        self.assertEqual(data, grpc_msg(body))
        self.assertFalse([f for f in frames if f[0] == RST_STREAM])
        raw.close()

    def test_two_messages_in_one_frame_bidi(self):
        raw = Raw()
        raw.send(frame(HEADERS, END_HEADERS, 1, hpack(request_headers("/test.Echo/Bidi"))))
        raw.send(frame(DATA, 0, 1, grpc_msg(b"one") + grpc_msg(b"two")))
        data = b""
        while data != grpc_msg(b"one") + grpc_msg(b"two"):  # answered before half-close
            f = raw.read_frame()
            self.assertIsNotNone(f)
            if f[0] == DATA:
                data += f[3]
        raw.send(frame(DATA, END_STREAM, 1))
        frames, ok = raw.read_until(lambda f: f[0] == HEADERS and f[1] & END_STREAM)
        self.assertTrue(ok)
        raw.close()

    def test_rst_no_error_after_early_trailers(self):
        raw = Raw()
        raw.send(frame(HEADERS, END_HEADERS, 1, hpack(request_headers("/test.Echo/Nope"))))
        frames, ok = raw.read_until(lambda f: f[0] == RST_STREAM and f[2] == 1)
        self.assertTrue(ok)
        trailers = [f for f in frames if f[0] == HEADERS and f[2] == 1]
        self.assertEqual(len(trailers), 1)
        self.assertTrue(trailers[0][1] & END_STREAM)
        self.assertEqual(int.from_bytes(frames[-1][3], "big"), 0)  # NO_ERROR
        raw.close()

    def test_deadline_trailers_then_rst_cancel(self):
        raw = Raw()
        hdrs = request_headers("/test.Echo/Slow", [("grpc-timeout", "100m")])
        raw.send(frame(HEADERS, END_HEADERS, 1, hpack(hdrs)))
        raw.send(frame(DATA, 0, 1, grpc_msg(b"x")))  # no END_STREAM: client still "sending"
        frames, ok = raw.read_until(lambda f: f[0] == RST_STREAM and f[2] == 1)
        self.assertTrue(ok)
        self.assertTrue([f for f in frames if f[0] == HEADERS and f[1] & END_STREAM])
        self.assertEqual(int.from_bytes(frames[-1][3], "big"), 8)  # CANCEL
        raw.close()
        self.wait_no_open_calls()

    def test_client_rst_cancel(self):
        raw = Raw()
        raw.send(frame(HEADERS, END_HEADERS, 1, hpack(request_headers("/test.Echo/Endless"))))
        raw.send(frame(DATA, END_STREAM, 1, grpc_msg(b"e")))
        frames, ok = raw.read_until(lambda f: f[0] == DATA and f[2] == 1)
        self.assertTrue(ok)
        raw.send(frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))
        self.wait_no_open_calls()
        raw.send(frame(PING, 0, 0, b"pingpong"))  # the connection lives on
        frames, ok = raw.read_until(lambda f: f[0] == PING)
        self.assertTrue(ok)
        raw.close()

    def test_garbage_preface_closes_only_that_connection(self):
        keep = Raw()
        bad = Raw(preface=False)
        bad.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\x00" * 64)
        bad.read_to_eof()  # the server hangs up (after its SETTINGS, maybe a GOAWAY)
        bad.close()
        keep.send(frame(PING, 0, 0, b"stillok!"))
        frames, ok = keep.read_until(lambda f: f[0] == PING and f[1] & ACK)
        self.assertTrue(ok)
        keep.close()
        self.assertEqual(self.unary(b"after garbage", timeout=10), b"after garbage")

    def test_frame_garbage_after_preface(self):
        raw = Raw()
        raw.send(frame(DATA, 0, 0, b"x"))  # DATA on stream 0: connection PROTOCOL_ERROR
        frames = raw.read_to_eof()
        self.assertTrue([f for f in frames if f[0] == GOAWAY])
        raw.close()
        self.assertEqual(self.unary(b"ok", timeout=10), b"ok")


def vm_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def h2load(port, path, n, clients, streams, body=b"\x00\x00\x00\x00\x02hi"):
    """Run h2load; return the number of 2xx responses."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(body)
        f.flush()
        out = subprocess.run(["h2load", "-n", str(n), "-c", str(clients), "-m", str(streams),
                              "-d", f.name, "-H", "content-type: application/grpc",
                              "-H", "te: trailers", "http://127.0.0.1:%d%s" % (port, path)],
                             capture_output=True, timeout=300).stdout.decode()
    for line in out.splitlines():
        if line.startswith("status codes:"):
            return int(line.split()[2])
    raise AssertionError(out)


@unittest.skipIf(os.environ.get("KD_SANITIZED"), "RSS figures are meaningless under sanitizers")
class Memory(unittest.TestCase):
    """Bounds on a fresh server's peak RSS: figures that do not move with machine speed."""

    def setUp(self):
        self.server = subprocess.Popen([sys.argv[1]], stdout=subprocess.PIPE)
        self.port = int(self.server.stdout.readline())
        self.rss_start = vm_kb(self.server.pid, "VmRSS")

    def tearDown(self):
        self.server.terminate()
        self.server.communicate(timeout=30)

    def test_closed_streams_are_not_kept(self):
        # nghttp2 keeps up to MAX_CONCURRENT_STREAMS (10,000) closed streams per connection
        # unless told not to: 8 connections x 10,000 calls grew the peak by about 25 MB.
        self.assertEqual(h2load(self.port, "/test.Echo/Unary", 80000, 8, 100), 80000)
        growth = vm_kb(self.server.pid, "VmHWM") - self.rss_start
        self.assertLess(growth, 6 * 1024, "peak RSS grew by %d kB" % growth)

    def test_client_that_does_not_read_is_not_buffered_for(self):
        # 2,000 echo calls of 16 kB from a client that reads nothing: the server stops reading
        # once its output backs up, so what it holds is bounded by its buffers and the kernel's,
        # not by what the client sends (32 MB here, held whole without backpressure).
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        body = grpc_msg(b"x" * 16000)  # one DATA frame (max 16,384 bytes)
        data = [PREFACE, frame(SETTINGS, 0, 0), frame(0x8, 0, 0, struct.pack(">I", (1 << 30)))]
        for i in range(2000):
            sid = 2 * i + 1
            data.append(frame(HEADERS, END_HEADERS, sid, hpack(request_headers("/test.Echo/Unary"))))
            data.append(frame(DATA, END_STREAM, sid, body))
        pending = memoryview(b"".join(data))
        sock.setblocking(False)
        stalled_since = None
        while pending and (stalled_since is None or time.monotonic() - stalled_since < 2):
            try:
                pending = pending[sock.send(pending[:1 << 16]):]
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                time.sleep(0.05)
        growth = vm_kb(self.server.pid, "VmHWM") - self.rss_start
        sock.close()
        self.assertTrue(pending, "the server read everything: no backpressure")
        self.assertLess(growth, 12 * 1024, "peak RSS grew by %d kB" % growth)


def drain_check():
    """SIGTERM: two-step GOAWAY; an idle connection closes at once, a busy one lives on until the
    grace period ends; then every call that reached a handler has been closed."""
    raw = Raw()
    raw.send(frame(HEADERS, END_HEADERS, 1, hpack(request_headers("/test.Echo/Endless"))))
    raw.send(frame(DATA, END_STREAM, 1, grpc_msg(b"e")))
    raw.read_until(lambda f: f[0] == DATA and f[2] == 1)
    idle = Raw()
    idle.send(frame(PING, 0, 0, b"idle-ok!"))
    idle.read_until(lambda f: f[0] == PING)
    SERVER.send_signal(signal.SIGTERM)
    idle_goaways = [int.from_bytes(f[3][:4], "big") for f in idle.read_to_eof() if f[0] == GOAWAY]
    assert idle_goaways == [0x7FFFFFFF, 0], idle_goaways
    raw.send(frame(PING, 0, 0, b"busy-ok!"))  # the busy connection is still served
    frames = raw.read_to_eof()
    assert [f for f in frames if f[0] == PING and f[3] == b"busy-ok!"], frames
    goaways = [int.from_bytes(f[3][:4], "big") & 0x7FFFFFFF for f in frames if f[0] == GOAWAY]
    out, _ = SERVER.communicate(timeout=30)
    lines = out.decode().split()
    print("server exit:", SERVER.returncode, lines[-2:])
    assert goaways[:2] == [0x7FFFFFFF, 1], goaways
    assert SERVER.returncode == 0, SERVER.returncode
    calls, closed = (int(p.split("=")[1]) for p in lines[-2:])
    assert calls == closed and calls > 0, lines


def main():
    global SERVER, PORT
    SERVER = subprocess.Popen([sys.argv[1], "--default-deadline-ms", str(DEFAULT_DEADLINE_MS),
                               "--max-message-size", str(MAX_MESSAGE)], stdout=subprocess.PIPE)
    PORT = int(SERVER.stdout.readline())
    try:
        result = unittest.main(argv=[sys.argv[0], "-v"], exit=False).result
        ok = result.wasSuccessful()
        drain_check()
    except BaseException:
        SERVER.kill()
        raise
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
