# SPDX-License-Identifier: Apache-2.0
"""Shared by the reference server, the C-core client and the tests: protoc-generated
messages for externalscaler.proto and the canonical JSON layout the three clients print."""
import atexit
import decimal
import math
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PROTO_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "..", "proto"))
SERVICE = "/externalscaler.ExternalScaler/"


def load_proto(proto_dir=None):
    """Runs protoc --python_out into a fresh temporary directory and imports the result."""
    proto_dir = proto_dir or os.environ.get("KD_PROTO_DIR") or DEFAULT_PROTO_DIR
    out = tempfile.mkdtemp(prefix="kd-interop-py-")
    atexit.register(shutil.rmtree, out, True)
    subprocess.run(["protoc", f"-I{proto_dir}", f"--python_out={out}", "externalscaler.proto"],
                   check=True)
    sys.path.insert(0, out)
    import externalscaler_pb2
    return externalscaler_pb2


class Raw(str):
    """An already-serialised JSON token."""


def canonical_number(neg, digits, exp):
    """digits d1d2... with value d1.d2... * 10**exp; same rules as the Go and JS clients."""
    digits = digits.rstrip("0")
    if not digits:
        digits, exp = "0", 0
    if -7 <= exp < 21:
        if exp >= 0:
            digits = digits.ljust(exp + 1, "0")
            out = digits[:exp + 1] + "." + (digits[exp + 1:] or "0")
        else:
            out = "0." + "0" * (-exp - 1) + digits
    else:
        out = f"{digits[0]}.{digits[1:] or '0'}e{'+' if exp >= 0 else '-'}{abs(exp)}"
    return ("-" if neg else "") + out


def format_float(f):
    if math.isnan(f):
        return Raw('"NaN"')
    if math.isinf(f):
        return Raw('"Infinity"' if f > 0 else '"-Infinity"')
    # repr() is the shortest round-trip form; Decimal splits it into digits and exponent.
    d = decimal.Decimal(repr(abs(f)))
    _, digits, _ = d.as_tuple()
    return Raw(canonical_number(math.copysign(1.0, f) < 0, "".join(map(str, digits)),
                                d.adjusted()))


def quote(s):
    out = ['"']
    for ch in s:
        cp = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif cp < 0x20 or cp >= 0x7F:
            if cp > 0xFFFF:
                cp -= 0x10000
                out.append("\\u%04x\\u%04x" % (0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)))
            else:
                out.append("\\u%04x" % cp)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def encode(v):
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return quote(v)
    if isinstance(v, list):
        return "[" + ",".join(encode(e) for e in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(quote(k) + ":" + encode(v[k]) for k in sorted(v)) + "}"
    raise TypeError(f"encode: unsupported {type(v).__name__}")
