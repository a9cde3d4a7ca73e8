# SPDX-License-Identifier: Apache-2.0
"""grpc-go (KEDA's client stack), the gRPC C core and grpc-js against the real daemon: the three
must print byte-identical answers, and those answers must be the expected ones."""
import os
import sys

from daemon import Daemon, WORK

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "interop"))
import run_interop  # noqa: E402
from test_daemon import config  # noqa: E402

# Workloads whose answers carry no clock-dependent text (stale messages quote the age).
WORKLOADS = ["web", "edge-api", "empty-app", "stale-fb-app", "ghost-api", "unrouted"]


def main():
    d = os.path.join(WORK, "interop-daemon")
    os.makedirs(d, exist_ok=True)
    daemon = Daemon(config(d), name="interop")
    try:
        # The expected answers quote the forecast file's path, which lives in this run's WORK.
        with open(os.path.join(HERE, "expected_daemon.json"), encoding="utf-8") as f:
            expected = f.read().replace("@LIVE_JSON@", os.path.join(d, "live.json"))
        expect = os.path.join(d, "expected.json")
        with open(expect, "w", encoding="utf-8") as f:
            f.write(expected)
        args = ["--addr", daemon.addr, "--expect", expect,
                "--metadata", f"scalerAddress={daemon.addr}"]
        for w in WORKLOADS:
            args += ["--workload", w]
        rc = run_interop.main(args)
    finally:
        stop_rc = daemon.stop()
    if rc == 0 and stop_rc != 0:
        print(f"daemon exited {stop_rc}\n{daemon.log()}")
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
