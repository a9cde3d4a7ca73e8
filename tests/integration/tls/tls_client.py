# SPDX-License-Identifier: Apache-2.0
"""python3-grpcio (the gRPC C core) TLS client: GetMetricSpec over TLS (optionally mTLS), one
JSON line per call. Same command line as go_client/main.go and tls_client.js."""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import grpc


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", required=True)
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--server-name", default="localhost")
    p.add_argument("--plaintext", action="store_true")
    p.add_argument("--workload", default="demo-api")
    p.add_argument("--calls", type=int, default=1)
    p.add_argument("--pause", action="store_true")
    p.add_argument("--proto-dir", default=os.environ.get("KD_PROTO_DIR"))
    a = p.parse_args()

    gen = tempfile.mkdtemp(prefix="kd-tls-py-")
    subprocess.run(["protoc", f"-I{a.proto_dir}", f"--python_out={gen}", "externalscaler.proto"],
                   check=True)
    sys.path.insert(0, gen)
    import externalscaler_pb2 as es

    def read(path):
        if not path:
            return None
        with open(path, "rb") as f:
            return f.read()

    if a.plaintext:
        channel = grpc.insecure_channel(a.addr)
    else:
        creds = grpc.ssl_channel_credentials(root_certificates=read(a.ca),
                                             private_key=read(a.key),
                                             certificate_chain=read(a.cert))
        channel = grpc.secure_channel(a.addr, creds,
                                      options=[("grpc.ssl_target_name_override", a.server_name)])
    call = channel.unary_unary("/externalscaler.ExternalScaler/GetMetricSpec",
                               request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=es.GetMetricSpecResponse.FromString)
    for i in range(1, a.calls + 1):
        line = {"client": "grpcio", "call": i}
        try:
            resp = call(es.ScaledObjectRef(name=a.workload, namespace="default"), timeout=10)
            line.update(ok=True, metric=resp.metricSpecs[0].metricName if resp.metricSpecs
                        else None)
        except grpc.RpcError as e:
            line.update(ok=False, code=e.code().name, error=e.details() or "")
        print(json.dumps(line), flush=True)
        if a.pause and i < a.calls:
            sys.stdin.readline()
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
