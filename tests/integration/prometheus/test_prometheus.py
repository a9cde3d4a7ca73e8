# SPDX-License-Identifier: Apache-2.0
"""The prometheus source against a real Prometheus server (Debian's `prometheus`), on a TSDB
backfilled once per run from three weeks of synthetic 1-minute history. Expected forecasts come
from prometheus.Reference, computed from the synthetic samples alone."""
import os
import sys
import tempfile
import time
import unittest
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import prometheus as P  # noqa: E402

WORK = os.environ.get("KD_WORK") or tempfile.mkdtemp(prefix="kd-prom-")
T0 = int(time.time()) // P.MIN * P.MIN  # the synthetic history ends here
SERIES = P.synth(T0)
REF = P.Reference(SERIES)
PROM = None


def setUpModule():
    global PROM
    PROM = P.Prometheus(os.path.join(WORK, "prometheus"), SERIES)


def tearDownModule():
    if PROM:
        PROM.stop()


def promql_string(v):
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_time(v):
    return datetime.fromisoformat(v.replace("Z", "+00:00")).timestamp()


class HarnessTest(unittest.TestCase):
    """The server answers as the reference model says, so the expected forecasts below mean
    what they claim."""

    def matrix(self, query, start, end, step=60):
        status, doc = PROM.query_range(query, start, end, step)
        self.assertEqual(status, 200, doc)
        return doc["data"]["result"]

    def test_reference_matches_the_server_over_gaps_and_seasons(self):
        now = T0 - 30 * P.MIN + 17.25  # a phase off the sample grid, as a real clock has
        for workload in ("api", "web", "holes", P.ESCAPED_NAME):
            for k in (1, 2, 3):
                start, end = now + 60 - k * P.WEEK, now + P.HOUR - k * P.WEEK
                got = {}
                for s in self.matrix(f"kd_rps{{workload={promql_string(workload)}}}", start, end):
                    self.assertEqual(s["metric"]["workload"], workload)
                    got = {round(t, 3): float(v) for t, v in s["values"]}
                want = {round(start + j * 60, 3): REF.at(workload, start + j * 60)
                        for j in range(60)}
                want = {t: v for t, v in want.items() if v is not None}
                self.assertEqual(got, want, (workload, k))

    def test_gaps_are_where_the_cases_need_them(self):
        now = T0 + 20.5
        # api: one week back a 40-minute hole inside the horizon; the other seasons cover it.
        missing = [i for i in range(1, 61) if REF.at("api", now + i * 60 - P.WEEK) is None]
        self.assertGreater(len(missing), 20)
        self.assertTrue(all(REF.at("api", now + i * 60 - 3 * P.WEEK) is not None
                            for i in missing))
        # holes: no season at all.
        self.assertTrue(all(REF.at("holes", now + i * 60 - k * P.WEEK) is None
                            for i in range(1, 61) for k in (1, 2, 3)))

    def test_request_counter_and_query_log(self):
        before = PROM.requests()
        n_logged = len(PROM.logged_queries())
        self.matrix('kd_rps{workload="web"}', T0 - 600, T0)
        self.assertEqual(PROM.requests() - before, 1)
        logged = PROM.logged_queries()[n_logged:]
        self.assertEqual(len(logged), 1)
        self.assertEqual(parse_time(logged[0]["end"]) - parse_time(logged[0]["start"]), 600)


if __name__ == "__main__":
    unittest.main(verbosity=2)
