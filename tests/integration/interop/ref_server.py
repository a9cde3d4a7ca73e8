# SPDX-License-Identifier: Apache-2.0
"""Reference External Scaler (python3-grpcio generic handlers) with fixed answers, used to
validate the interop clients independently of the daemon. Prints "port=N" once listening.

  a        active, value 5; StreamIsActive sends true once and stays open
  b        inactive, value 2; StreamIsActive stays open and sends nothing
  special  edge-case numbers, two specs, IsActive fails with an escaped message,
           StreamIsActive sends false, true and ends with OK
  echo     GetMetrics echoes namespace, metricName and scalerMetadata
  flaky    GetMetrics UNAVAILABLE, IsActive DEADLINE_EXCEEDED, stream true then UNAVAILABLE
  other    GetMetrics NOT_FOUND "no route", IsActive false, StreamIsActive NOT_FOUND
"""
import argparse
import signal
import threading
from concurrent import futures

import grpc

from interop_common import load_proto

es = load_proto()

VALUES = {"a": 5, "b": 2}
SPECIAL_VALUES = [
    (None, 9223372036854775807, 1e-7),
    ("neg", -9223372036854775808, -0.0),
    ("", 0, 123456789.125),
    ("tiny", 1, 5e-324),
    ("huge", 2, 1.7976931348623157e308),
    ("e21", 3, 1e21),
    ("e20", 4, 1e20),
    ("e-6", 5, 1e-6),
    ("e-8", 6, 2.5e-8),
    ("third", 7, 1.0 / 3.0),
    ("unicode \u00e9\u2713\U0001F600", 8, 0.1 + 0.2),
]
SPECIAL_ERROR = 'bad: 100% \u2717 "quoted" \\ end'


def spec(ref, context):
    if ref.name == "special":
        return es.GetMetricSpecResponse(metricSpecs=[
            es.MetricSpec(metricName="kedastral-special-desired-replicas",
                          targetSize=9007199254740993, targetSizeFloat=0.1),
            es.MetricSpec(metricName="second", targetSize=-3, targetSizeFloat=1e25)])
    return es.GetMetricSpecResponse(metricSpecs=[es.MetricSpec(
        metricName=f"kedastral-{ref.name}-desired-replicas", targetSize=1, targetSizeFloat=1.0)])


def metrics(req, context):
    ref = req.scaledObjectRef
    if ref.name in VALUES:
        v = VALUES[ref.name]
        return es.GetMetricsResponse(metricValues=[es.MetricValue(
            metricName=req.metricName, metricValue=v, metricValueFloat=float(v))])
    if ref.name == "special":
        return es.GetMetricsResponse(metricValues=[
            es.MetricValue(metricName=req.metricName if n is None else n, metricValue=i,
                           metricValueFloat=f) for n, i, f in SPECIAL_VALUES])
    if ref.name == "echo":
        values = [es.MetricValue(metricName=f"namespace={ref.namespace}"),
                  es.MetricValue(metricName=f"metricName={req.metricName}")]
        values += [es.MetricValue(metricName=f"{k}={ref.scalerMetadata[k]}",
                                  metricValue=len(ref.scalerMetadata[k]))
                   for k in sorted(ref.scalerMetadata)]
        return es.GetMetricsResponse(metricValues=values)
    if ref.name == "flaky":
        context.abort(grpc.StatusCode.UNAVAILABLE, "backend down")
    context.abort(grpc.StatusCode.NOT_FOUND, "no route")


def is_active(ref, context):
    if ref.name == "special":
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, SPECIAL_ERROR)
    if ref.name == "flaky":
        context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "slow")
    return es.IsActiveResponse(result=ref.name in ("a", "echo"))


def hold_open(context):
    gone = threading.Event()
    # False: the client already went away, so the callback would never run.
    if context.add_callback(gone.set):
        gone.wait(60)


def stream_is_active(ref, context):
    if ref.name == "a":
        yield es.IsActiveResponse(result=True)
        hold_open(context)
    elif ref.name in ("b", "echo"):
        hold_open(context)
    elif ref.name == "special":
        yield es.IsActiveResponse(result=False)
        yield es.IsActiveResponse(result=True)
    elif ref.name == "flaky":
        yield es.IsActiveResponse(result=True)
        context.abort(grpc.StatusCode.UNAVAILABLE, "draining")
    else:
        context.abort(grpc.StatusCode.NOT_FOUND, "no route")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", default="127.0.0.1:0")
    args = ap.parse_args()

    def unary(fn, req, resp):
        return grpc.unary_unary_rpc_method_handler(fn, request_deserializer=req.FromString,
                                                   response_serializer=resp.SerializeToString)
    handlers = {
        "GetMetricSpec": unary(spec, es.ScaledObjectRef, es.GetMetricSpecResponse),
        "GetMetrics": unary(metrics, es.GetMetricsRequest, es.GetMetricsResponse),
        "IsActive": unary(is_active, es.ScaledObjectRef, es.IsActiveResponse),
        "StreamIsActive": grpc.unary_stream_rpc_method_handler(
            stream_is_active, request_deserializer=es.ScaledObjectRef.FromString,
            response_serializer=es.IsActiveResponse.SerializeToString),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler("externalscaler.ExternalScaler", handlers)])
    port = server.add_insecure_port(args.listen)
    if port == 0:
        raise SystemExit(f"ref_server: cannot listen on {args.listen}")
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"ref_server listening on {args.listen} port={port}", flush=True)
    stop.wait()
    server.stop(0).wait()


if __name__ == "__main__":
    main()
