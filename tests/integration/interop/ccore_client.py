# SPDX-License-Identifier: Apache-2.0
"""gRPC C-core interop client (python3-grpcio, generic multicallables, protoc --python_out
messages). Same command line and output as the grpc-go and grpc-js clients (run_interop.py)."""
import argparse
import sys
import threading

import grpc

from interop_common import SERVICE, encode, format_float, load_proto


def failure(err):
    return {"code": err.code().value[0], "message": err.details() or ""}


class Runner:
    def __init__(self, channel, es, deadline_s, wait_s):
        self.es = es
        self.deadline = deadline_s
        self.wait = wait_s

        def unary(method, req, resp):
            return channel.unary_unary(SERVICE + method, request_serializer=req.SerializeToString,
                                       response_deserializer=resp.FromString)
        self._spec = unary("GetMetricSpec", es.ScaledObjectRef, es.GetMetricSpecResponse)
        self._metrics = unary("GetMetrics", es.GetMetricsRequest, es.GetMetricsResponse)
        self._active = unary("IsActive", es.ScaledObjectRef, es.IsActiveResponse)
        self._stream = channel.unary_stream(SERVICE + "StreamIsActive",
                                            request_serializer=es.ScaledObjectRef.SerializeToString,
                                            response_deserializer=es.IsActiveResponse.FromString)

    def spec(self, ref):
        try:
            resp = self._spec(ref, timeout=self.deadline)
        except grpc.RpcError as err:
            return failure(err), ""
        specs = [{"metricName": s.metricName, "targetSize": s.targetSize,
                  "targetSizeFloat": format_float(s.targetSizeFloat)} for s in resp.metricSpecs]
        first = resp.metricSpecs[0].metricName if resp.metricSpecs else ""
        return {"code": 0, "specs": specs}, first

    def metrics(self, ref, name):
        req = self.es.GetMetricsRequest(scaledObjectRef=ref, metricName=name)
        try:
            resp = self._metrics(req, timeout=self.deadline)
        except grpc.RpcError as err:
            return failure(err)
        values = [{"metricName": v.metricName, "metricValue": v.metricValue,
                   "metricValueFloat": format_float(v.metricValueFloat)}
                  for v in resp.metricValues]
        return {"code": 0, "values": values}

    def is_active(self, ref):
        try:
            resp = self._active(ref, timeout=self.deadline)
        except grpc.RpcError as err:
            return failure(err)
        return {"code": 0, "result": resp.result}

    def stream(self, ref):
        call = self._stream(ref)
        lock = threading.Lock()
        messages = []
        state = {"cancelled": False}
        done = threading.Event()

        def pump():
            try:
                for m in call:
                    with lock:
                        if not state["cancelled"]:
                            messages.append(m.result)
            except grpc.RpcError:
                pass  # the status is read from the call below
            done.set()

        threading.Thread(target=pump, daemon=True).start()
        if not done.wait(self.wait):
            with lock:
                state["cancelled"] = True
            call.cancel()
            done.wait()
        code = call.code()
        if code == grpc.StatusCode.OK:
            return {"code": 0, "messages": messages}
        if state["cancelled"] and code == grpc.StatusCode.CANCELLED:
            return {"code": "cancelled", "messages": messages}
        return {"code": code.value[0], "message": call.details() or "", "messages": messages}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--addr", required=True)
    ap.add_argument("--workload", action="append", required=True)
    ap.add_argument("--metadata", action="append", default=[])
    ap.add_argument("--stream-wait-ms", type=int, default=1500)
    ap.add_argument("--deadline-ms", type=int, default=0,
                    help="deadline of each unary call (0: none, like KEDA's poll loop)")
    args = ap.parse_args()
    meta = {}
    for kv in args.metadata:
        k, sep, v = kv.partition("=")
        if not sep or not k:
            ap.error(f"--metadata {kv!r} is not k=v")
        meta[k] = v

    es = load_proto()
    with grpc.insecure_channel(args.addr) as channel:
        r = Runner(channel, es, args.deadline_ms / 1000.0 if args.deadline_ms > 0 else None,
                   args.stream_wait_ms / 1000.0)
        results = []
        for w in args.workload:
            ref = es.ScaledObjectRef(name=w, namespace="default", scalerMetadata=meta)
            spec, first = r.spec(ref)
            metrics = r.metrics(ref, first)
            active = r.is_active(ref)
            stream = r.stream(ref)
            results.append({"name": w, "spec": spec, "metrics": metrics, "isActive": active,
                            "stream": stream})
    sys.stdout.write(encode({"workloads": results}) + "\n")


if __name__ == "__main__":
    main()
