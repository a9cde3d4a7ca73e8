# SPDX-License-Identifier: Apache-2.0
"""Open N HTTP/2 cleartext connections to 127.0.0.1:PORT, each through the preface and the
SETTINGS exchange (client SETTINGS sent, server SETTINGS read and ACKed, our SETTINGS ACK read),
print "ready N" and hold them until stdin closes. Raw sockets: nothing of ours on the client."""
import selectors
import socket
import struct
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS, ACK = 0x4, 0x1


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def frames(buf):
    """Complete frames at the start of buf (type, flags) and the bytes they used."""
    out, off = [], 0
    while len(buf) - off >= 9:
        n = int.from_bytes(buf[off:off + 3], "big")
        if len(buf) - off < 9 + n:
            break
        out.append((buf[off + 3], buf[off + 4]))
        off += 9 + n
    return out, off


def main():
    port, n = int(sys.argv[1]), int(sys.argv[2])
    sel = selectors.DefaultSelector()
    socks, state = [], {}
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(PREFACE + frame(SETTINGS, 0, 0))
        s.setblocking(False)
        socks.append(s)
        state[s] = [b"", False, False]  # unparsed input, server SETTINGS acked, our ACK seen
        sel.register(s, selectors.EVENT_READ)
    pending = n
    while pending:
        for key, _ in sel.select(timeout=30) or [(None, None)]:
            if key is None:
                sys.exit("idle_conns: %d connections did not finish the SETTINGS exchange" % pending)
            s = key.fileobj
            data = s.recv(65536)
            if not data:
                sys.exit("idle_conns: the server closed a connection")
            st = state[s]
            st[0] += data
            got, used = frames(st[0])
            st[0] = st[0][used:]
            for ftype, flags in got:
                if ftype == SETTINGS and not flags & ACK and not st[1]:
                    s.sendall(frame(SETTINGS, ACK, 0))
                    st[1] = True
                elif ftype == SETTINGS and flags & ACK:
                    st[2] = True
            if st[1] and st[2]:
                sel.unregister(s)
                pending -= 1
    print("ready", n, flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
