# SPDX-License-Identifier: Apache-2.0
"""Test PKI made with the openssl CLI at test time: two CAs, a server and a client certificate
from each (SAN localhost + 127.0.0.1), and the kubelet's projection of a kubernetes.io/tls
Secret (tls.crt, tls.key, ca.crt -> ..data/ -> ..<generation>/, swapped atomically)."""
import os
import shutil
import subprocess

EXT = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
"""


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class Pki:
    """Files in `dir`: ca-X.crt, server-X.{crt,key}, client-X.{crt,key} for X in names."""

    def __init__(self, dir, names=("a", "b"), rsa=("a",)):
        self.dir = dir
        os.makedirs(dir, exist_ok=True)
        with open(os.path.join(dir, "leaf.ext"), "w") as f:
            f.write(EXT)
        for n in names:
            # One CA and its leaves RSA, the other's ECDSA P-256: both kinds KEDA may be given.
            key = (["-newkey", "rsa:2048"] if n in rsa else
                   ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
            _openssl("req", "-x509", *key, "-nodes", "-keyout", f"ca-{n}.key",
                     "-out", f"ca-{n}.crt", "-days", "2", "-subj", f"/CN=kd-test-ca-{n}",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=dir)
            for role in ("server", "client"):
                _openssl("req", "-new", *key, "-nodes", "-keyout", f"{role}-{n}.key",
                         "-out", f"{role}-{n}.csr", "-subj", f"/CN=kd-test-{role}-{n}", cwd=dir)
                _openssl("x509", "-req", "-in", f"{role}-{n}.csr", "-CA", f"ca-{n}.crt",
                         "-CAkey", f"ca-{n}.key", "-CAcreateserial", "-days", "2",
                         "-extfile", "leaf.ext", "-out", f"{role}-{n}.crt", cwd=dir)

    def path(self, name):
        return os.path.join(self.dir, name)


class SecretVolume:
    """A kubelet-style projection of a kubernetes.io/tls Secret with ca.crt."""

    def __init__(self, dir):
        self.dir = dir
        self.generation = 0
        os.makedirs(dir, exist_ok=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def project(self, crt, key, ca):
        """Write a new ..<generation> folder and swap ..data to it in one rename."""
        self.generation += 1
        gen = f"..2026_12_02_00_00_00.{self.generation:04d}"
        os.mkdir(os.path.join(self.dir, gen))
        for src, name in ((crt, "tls.crt"), (key, "tls.key"), (ca, "ca.crt")):
            shutil.copyfile(src, os.path.join(self.dir, gen, name))
        tmp = os.path.join(self.dir, "..data_tmp")
        os.symlink(gen, tmp)
        os.replace(tmp, os.path.join(self.dir, "..data"))
        for name in ("tls.crt", "tls.key", "ca.crt"):
            link = os.path.join(self.dir, name)
            if not os.path.lexists(link):
                os.symlink(os.path.join("..data", name), link)
