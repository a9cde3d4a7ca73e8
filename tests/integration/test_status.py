# SPDX-License-Identifier: Apache-2.0
"""The status endpoints of the real daemon: /status.json (exact fields for a file-source
workload, a failing http-source workload, paging over 1,000 workloads), /status (HTML, escaped,
rendered by headless Chromium), /healthz?verbose and /readyz?verbose. Clients are http.client,
python3-grpcio and Chromium; nothing is shared with the daemon's code."""
import calendar
import json
import os
import random
import shutil
import subprocess
import time
import unittest

from html.parser import HTMLParser

import grpc

import chromium
from daemon import Daemon, Stub, forecast, http_get, WORK

NOW = int(time.time())
# max over [0 .. 5m / 60s] = indexes 0..5 -> 8; the 9 just past the window must not count.
CHECKOUT = [3, 4, 8, 5, 6, 7, 9, 2]


def parse_time(text):
    """RFC 3339 UTC with milliseconds -> Unix milliseconds (exact integers)."""
    assert text.endswith("Z"), text
    base, frac = text[:-1].split(".")
    assert len(frac) == 3, text
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(frac)


def iso_ms(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".000Z"


def get_json(daemon, path):
    status, ctype, body = http_get(daemon.http_port, path)
    assert status == 200, (status, body)
    assert ctype == "application/json", ctype
    return json.loads(body)


def setup_dir(name):
    d = os.path.join(WORK, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def write_json(path, doc):
    with open(path, "w") as f:
        json.dump(doc, f)


def poll(fn, timeout=15.0):
    """Calls fn until it returns something truthy (a functional wait, no timing assertion)."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def rpc_code(fn):
    try:
        fn()
    except grpc.RpcError as e:
        return e.code()
    return grpc.StatusCode.OK


WORKLOAD_KEYS = {"name", "state", "route", "source", "policy", "mode", "lead_time_ms",
                 "stale_after_ms", "fallback_replicas", "on_stale", "activation",
                 "activation_lead_ms", "activation_threshold", "origins", "forecast", "window",
                 "policy_value", "exhausted", "answer", "stale", "active", "next_activation",
                 "last_metrics", "last_activity", "fetch", "last_asked", "refresh_due"}
DEFAULT_ORIGINS = {"lead_time": "config", "policy": "config", "stale_after": "default",
                   "fallback_replicas": "default", "activation": "default",
                   "activation_lead": "default", "mode": "default", "on_stale": "default",
                   "activation_threshold": "default"}


class StatusJsonTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = setup_dir("status-json")
        cls.now = int(time.time())  # the forecast is fresh: its window starts at index 0
        write_json(os.path.join(d, "live.json"), [forecast("checkout", CHECKOUT, cls.now),
                                                  forecast("tuned", CHECKOUT, cls.now)])
        cls.stub = Stub({"down-api": {"mode": "500"}, "*": {"mode": "fresh",
                                                            "desiredReplicas": [1, 2]}})
        cls.d = Daemon(f"""
sources = (
  {{ name = "live"; plugin = "file"; path = "{d}/live.json"; rebase = false; loop = false; }},
  {{ name = "fc"; plugin = "http"; url = "{cls.stub.url}"; refresh = "1s"; timeout = "1500ms"; }}
);
policies = ( {{ name = "lookahead"; plugin = "max"; lead_time = "5m"; }} );
workloads = (
  {{ match = "checkout"; source = "live"; policy = "lookahead"; }},
  {{ match = "tuned"; source = "live"; policy = "lookahead"; overrides = [ "leadTime" ]; }},
  {{ match = "*-api"; source = "fc"; policy = "lookahead"; fallback_replicas = 2;
     stale_after = "1h"; }}
);
""", name="status-json")

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.stub.stop()
        assert rc == 0, f"daemon exit code {rc}\n{cls.d.log()}"

    def test_file_source_workload_exact(self):
        d = self.d
        self.assertEqual(d.get_metrics(d.ref("checkout"), "m").metricValues[0].metricValue, 8)
        doc = get_json(d, "/status.json")
        [w] = [w for w in doc["workloads"] if w["name"] == "checkout"]
        self.assertEqual(set(w), WORKLOAD_KEYS)
        self.assertEqual(w["state"], "ok")
        self.assertEqual((w["route"], w["source"], w["policy"]),
                         ("checkout", "live", "lookahead"))
        self.assertEqual(w["lead_time_ms"], 300000)
        self.assertEqual(w["stale_after_ms"], 600000)  # 2 x lead_time
        self.assertIsNone(w["fallback_replicas"])
        self.assertEqual(w["answer"], {"code": 0, "status": "OK", "value": 8})
        self.assertEqual((w["mode"], w["on_stale"], w["activation"]), ("active", "error", "fresh"))
        self.assertEqual((w["activation_lead_ms"], w["activation_threshold"]), (300000, 0))
        self.assertEqual(w["origins"], DEFAULT_ORIGINS)
        # The window the policy looked at: indexes 0..5, the plans for generatedAt + 1..6 min
        # (policy-max reports it; only a policy that does not would give null).
        t0 = self.now
        self.assertEqual(w["window"], {"first": 0, "last": 5, "first_at": iso_ms(t0 + 60),
                                       "last_at": iso_ms(t0 + 360)})
        self.assertEqual(w["policy_value"], 8)
        self.assertFalse(w["exhausted"])
        self.assertFalse(w["stale"])
        self.assertTrue(w["active"])
        self.assertIsNone(w["next_activation"])
        self.assertEqual(w["last_metrics"]["code"], 0)
        self.assertLessEqual(parse_time(w["last_metrics"]["at"]), parse_time(doc["now"]))
        self.assertIsNone(w["last_activity"])  # IsActive was never asked
        f = w["forecast"]
        self.assertEqual(f["generated_at"], iso_ms(t0))
        self.assertEqual((f["step_s"], f["horizon_s"], f["points"]), (60, 480, 8))
        self.assertNotIn("desired_replicas", f)  # only for ?workload=
        now = parse_time(doc["now"])
        self.assertEqual(round(f["age_s"] * 1000), now - t0 * 1000)
        self.assertLessEqual(parse_time(f["fetched_at"]), now)
        self.assertEqual(w["fetch"], {"in_flight": False, "idle": False, "failures": 0,
                                      "failing_since": None, "last_error": None})
        self.assertLessEqual(parse_time(w["last_asked"]), now)
        # The next background refresh is armed `refresh` (10 s) after the fetch; the two
        # times come from the wall and the monotonic clock, so a few ms of slack.
        due = parse_time(w["refresh_due"]) - parse_time(f["fetched_at"])
        self.assertGreater(due, 9950)
        self.assertLessEqual(due, 10050)

        one = get_json(d, "/status.json?workload=checkout")
        self.assertEqual([x["name"] for x in one["workloads"]], ["checkout"])
        self.assertEqual(one["workloads"][0]["forecast"]["desired_replicas"], CHECKOUT)

        [src] = [s for s in doc["sources"] if s["name"] == "live"]
        self.assertEqual(src["plugin"], "file")
        self.assertEqual(src["state"], "ok")
        self.assertIsNone(src["failing_since"])
        self.assertGreaterEqual(src["fetches"]["success"], 1)
        self.assertEqual((src["fetches"]["error"], src["fetches"]["timeout"]), (0, 0))
        self.assertEqual((src["workloads"], src["cached"], src["in_flight"]), (1, 1, 0))
        self.assertEqual((src["refresh_ms"], src["timeout_ms"], src["idle_evict_ms"]),
                         (10000, 2000, 600000))

    def test_overridden_workload(self):
        d = self.d
        ref = d.ref("tuned", leadTime="1m")
        value = d.get_metrics(ref, "m").metricValues[0].metricValueFloat
        self.assertTrue(d.is_active(ref).result)
        [w] = get_json(d, "/status.json?workload=tuned")["workloads"]
        # Where each setting came from: the ScaledObject's allowed leadTime, the rest as
        # configured or by default; stale_after follows the effective lead time (2 x 1m).
        self.assertEqual(w["origins"], dict(DEFAULT_ORIGINS, lead_time="metadata"))
        self.assertEqual((w["lead_time_ms"], w["stale_after_ms"]), (60000, 120000))
        # The page answers with the settings the last call carried: what KEDA got.
        self.assertEqual(w["answer"], {"code": 0, "status": "OK", "value": value})
        self.assertEqual((w["window"]["first"], w["window"]["last"]), (0, 1))
        self.assertEqual(value, 4)  # max(3, 4)
        self.assertTrue(w["last_activity"]["active"])

    def test_failing_http_workload(self):
        d = self.d
        # No forecast ever, so no fallback either: the error is the answer.
        self.assertEqual(rpc_code(lambda: d.get_metrics(d.ref("down-api"), "m")),
                         grpc.StatusCode.UNAVAILABLE)
        doc = get_json(d, "/status.json?workload=down-api")
        [w] = doc["workloads"]
        self.assertEqual(set(w), WORKLOAD_KEYS)
        self.assertEqual(w["state"], "failing")
        self.assertIsNone(w["forecast"])
        self.assertEqual(w["answer"]["code"], 14)
        self.assertEqual(w["answer"]["status"], "UNAVAILABLE")
        self.assertNotIn("value", w["answer"])
        self.assertIn("no forecast for down-api yet", w["answer"]["message"])
        self.assertIn("500", w["answer"]["message"])
        self.assertFalse(w["active"])
        self.assertGreaterEqual(w["fetch"]["failures"], 1)
        self.assertIn("500", w["fetch"]["last_error"])
        self.assertLessEqual(parse_time(w["fetch"]["failing_since"]), parse_time(doc["now"]))
        self.assertEqual(w["fallback_replicas"], 2)
        self.assertEqual(w["stale_after_ms"], 3600000)

        [src] = [s for s in doc["sources"] if s["name"] == "fc"]
        self.assertEqual(src["plugin"], "http")
        self.assertEqual(src["state"], "failing")
        self.assertIn("500", src["last_error"])
        self.assertEqual(src["last_error_workload"], "down-api")
        self.assertGreaterEqual(src["fetches"]["error"], 1)
        self.assertLessEqual(parse_time(src["failing_since"]), parse_time(doc["now"]))

        # The source recovers once a workload of it is fetched successfully.
        self.assertEqual(d.get_metrics(d.ref("up-api"), "m").metricValues[0].metricValue, 2)
        up = get_json(d, "/status.json?workload=up-api")
        self.assertEqual(up["workloads"][0]["answer"], {"code": 0, "status": "OK", "value": 2})

    def test_daemon_section(self):
        doc = get_json(self.d, "/status.json")
        dm = doc["daemon"]
        self.assertEqual(dm["config_file"], self.d.config)
        self.assertEqual(dm["http_listen"], "127.0.0.1:0")
        self.assertGreaterEqual(dm["uptime_s"], 0)
        self.assertLessEqual(parse_time(dm["started_at"]), parse_time(doc["now"]))
        limits = dm["limits"]
        self.assertEqual((limits["max_message_size"], limits["default_deadline_ms"],
                          limits["shutdown_timeout_ms"]), (4194304, 10000, 10000))
        # Every limits.* setting, under its name (the table grows; these are there now).
        self.assertEqual(limits["max_workloads"], 10000)
        self.assertEqual(dm["reloads"], {"ok": 0, "failed": 0, "last_at": None,
                                         "last_result": None, "last_error": None})

    def test_unknown_workload_is_404_and_creates_nothing(self):
        status, _, body = http_get(self.d.http_port, "/status.json?workload=ghost%3Cx%3E")
        self.assertEqual(status, 404, body)
        names = [w["name"] for w in get_json(self.d, "/status.json")["workloads"]]
        self.assertNotIn("ghost<x>", names)

    def test_bad_queries(self):
        for q in ("limit=0", "limit=1001", "limit=x", "limit=", "after=%zz", "workload=%4"):
            status, ctype, body = http_get(self.d.http_port, "/status.json?" + q)
            self.assertEqual(status, 400, q)
            self.assertTrue(ctype.startswith("text/plain"), ctype)
        status, _, _ = http_get(self.d.http_port, "/status.json", method="POST")
        self.assertEqual(status, 405)


class PagingTest(unittest.TestCase):
    """10,000 workloads in the cache: JSON pages cover each once, in name order; HTML pages
    stay small (bytes per row bounded) and link to the next page."""
    N = 10000

    def test_pages_cover_every_workload_once_in_order(self):
        d = setup_dir("status-paging")
        names = [f"w{i:05d}" for i in range(self.N)]
        write_json(os.path.join(d, "many.json"), [forecast(n, [1, 2], NOW) for n in names])
        daemon = Daemon(f"""
sources = ( {{ name = "many"; plugin = "file"; path = "{d}/many.json"; rebase = false; }} );
policies = ( {{ name = "p"; plugin = "max"; lead_time = "1m"; }} );
workloads = ( {{ match = "*"; source = "many"; policy = "p"; }} );
""", name="status-paging")
        try:
            shuffled = list(names)
            random.Random(12).shuffle(shuffled)
            call = daemon.channel.unary_unary("/externalscaler.ExternalScaler/IsActive",
                                              request_serializer=lambda m: m.SerializeToString(),
                                              response_deserializer=None)
            for i in range(0, self.N, 1000):
                for f in [call.future(daemon.ref(n)) for n in shuffled[i:i + 1000]]:
                    f.result(timeout=60)

            seen, after, pages = [], None, 0
            while True:
                q = "/status.json?limit=1000" + (f"&after={after}" if after else "")
                doc = get_json(daemon, q)
                pages += 1
                self.assertEqual(doc["page"]["total"], self.N)
                self.assertEqual(doc["page"]["limit"], 1000)
                self.assertEqual(doc["page"]["after"], after)
                batch = [w["name"] for w in doc["workloads"]]
                self.assertLessEqual(len(batch), 1000)
                seen += batch
                after = doc["page"]["next_after"]
                if after is None:
                    break
                self.assertEqual(after, batch[-1])
            self.assertEqual(pages, 10)
            self.assertEqual(seen, names)
            self.assertEqual(doc["sources"][0]["workloads"], self.N)
            self.assertEqual(doc["sources"][0]["cached"], self.N)
            # Default page size, an odd page size, and the last partial page.
            self.assertEqual(len(get_json(daemon, "/status.json")["workloads"]), 100)
            doc = get_json(daemon, "/status.json?limit=128&after=w09900")
            self.assertEqual([w["name"] for w in doc["workloads"]], names[9901:])
            self.assertIsNone(doc["page"]["next_after"])

            # HTML: 50 rows by default, at most 500; each row with its plot under 1 KiB.
            status, _, body = http_get(daemon.http_port, "/status")
            self.assertEqual(status, 200)
            dom = Dom(body)
            self.assertEqual((dom.rows, dom.polylines), (50, 50))
            self.assertEqual(dom.names, names[:50])
            self.assertLess(len(body.encode()), 50 * 1024 + 8192)
            self.assertIn('href="/status?after=w00049&amp;limit=50"', body)
            status, _, body = http_get(daemon.http_port, "/status?limit=500&after=w00049")
            dom = Dom(body)
            self.assertEqual(dom.names, names[50:550])
            self.assertLess(len(body.encode()), 500 * 1024 + 8192)
            status, _, _ = http_get(daemon.http_port, "/status?limit=501")
            self.assertEqual(status, 400)
        finally:
            self.assertEqual(daemon.stop(), 0, daemon.log())


class Dom(HTMLParser):
    """Counts what the tests look for in a DOM serialisation: workload rows, their name
    cells' text, SVG polylines, script elements."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.rows = 0
        self.names = []
        self.polylines = 0
        self.scripts = 0
        self.svgs = 0
        self._in_name = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class", "") or ""
        if tag == "tr" and "workload" in cls.split():
            self.rows += 1
        elif tag == "td" and "name" in cls.split():
            self._in_name = True
            self.names.append("")
        elif tag == "polyline":
            self.polylines += 1
        elif tag == "script":
            self.scripts += 1
        elif tag == "svg":
            self.svgs += 1

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_name = False

    def handle_data(self, data):
        if self._in_name:
            self.names[-1] += data


SCRIPT_NAME = "<script>alert(1)</script>"
ODD_NAME = "x<b>&\"y'"


def screenshot_dir():
    d = os.environ.get("KD_SCREENSHOT_DIR") or WORK
    os.makedirs(d, exist_ok=True)
    return d


class StatusHtmlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = setup_dir("status-html")
        demo = [5, 5, 6, 6, 7, 8, 8, 9, 10, 11, 11, 12, 13, 13, 14, 15, 15, 16, 16, 16]
        write_json(os.path.join(d, "live.json"), [
            forecast("checkout", CHECKOUT, NOW), forecast("demo-api", demo, NOW - 90),
            forecast("search", [2, 2, 3, 2, 2, 1, 1, 1, 2, 4, 4, 3], NOW - 30),
            forecast(ODD_NAME, [1, 3, 2], NOW)])
        cls.d = Daemon(f"""
sources = ( {{ name = "live"; plugin = "file"; path = "{d}/live.json"; rebase = false; }} );
policies = ( {{ name = "lookahead"; plugin = "max"; lead_time = "5m"; }} );
workloads = ( {{ match = "*"; source = "live"; policy = "lookahead"; }} );
""", name="status-html")
        for name in ("checkout", "demo-api", "search", ODD_NAME):
            cls.d.get_metrics(cls.d.ref(name), "m")
        # Unknown to the source: a row without a plot, and a name that must stay text.
        rpc_code(lambda: cls.d.get_metrics(cls.d.ref(SCRIPT_NAME), "m"))
        cls.url = f"http://127.0.0.1:{cls.d.http_port}/status"

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        assert rc == 0, f"daemon exit code {rc}\n{cls.d.log()}"

    def test_served_escaped(self):
        status, ctype, body = http_get(self.d.http_port, "/status")
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "text/html; charset=utf-8")
        self.assertNotIn("<script", body)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", body)
        self.assertIn("x&lt;b&gt;&amp;&quot;y&#39;", body)
        self.assertNotIn("http://", body.replace('xmlns="http://www.w3.org/2000/svg"', ""))
        status, _, _ = http_get(self.d.http_port, "/status", method="DELETE")
        self.assertEqual(status, 405)

    def test_chromium_dom_and_screenshot(self):
        dom = Dom(chromium.dump_dom(self.url))
        self.assertEqual(dom.scripts, 0)
        self.assertEqual(dom.rows, 5)
        self.assertEqual(sorted(dom.names),
                         sorted(["checkout", "demo-api", "search", ODD_NAME, SCRIPT_NAME]))
        # One plot, with exactly one polyline, per workload that has a forecast.
        self.assertEqual(dom.svgs, 4)
        self.assertEqual(dom.polylines, 4)
        png = chromium.screenshot(self.url, os.path.join(screenshot_dir(), "status.png"),
                                  1100, 560)
        self.assertGreater(len(png), 10000)  # a rendered page, not a blank one

    def test_workload_detail(self):
        url = self.url + "?workload=demo-api"
        dom = Dom(chromium.dump_dom(url))
        self.assertEqual((dom.svgs, dom.polylines, dom.scripts), (1, 1, 0))
        chromium.screenshot(url, os.path.join(screenshot_dir(), "status-workload.png"), 900, 720)
        status, _, body = http_get(self.d.http_port, "/status?workload=" + "%3Cscript%3E")
        self.assertEqual(status, 404)
        self.assertIn("&lt;script&gt;", body)
        self.assertNotIn("<script", body)


def lines(body):
    return body.rstrip("\n").split("\n")


class VerboseHealthTest(unittest.TestCase):
    """One healthy (file) and one failing (http, 500) source: both listed; neither probe
    changes its default answer."""

    @classmethod
    def setUpClass(cls):
        d = setup_dir("status-health")
        write_json(os.path.join(d, "live.json"), [forecast("checkout", CHECKOUT, NOW)])
        cls.stub = Stub({"*": {"mode": "500"}})
        cls.d = Daemon(f"""
sources = (
  {{ name = "live"; plugin = "file"; path = "{d}/live.json"; rebase = false; }},
  {{ name = "fc"; plugin = "http"; url = "{cls.stub.url}"; }}
);
policies = ( {{ name = "p"; plugin = "max"; lead_time = "5m"; }} );
workloads = (
  {{ match = "checkout"; source = "live"; policy = "p"; }},
  {{ match = "*"; source = "fc"; policy = "p"; }}
);
""", name="status-health")
        cls.d.get_metrics(cls.d.ref("checkout"), "m")
        rpc_code(lambda: cls.d.get_metrics(cls.d.ref("down"), "m"))

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        cls.stub.stop()
        assert rc == 0, f"daemon exit code {rc}\n{cls.d.log()}"

    def check(self, probe):
        status, ctype, body = http_get(self.d.http_port, f"/{probe}?verbose")
        self.assertEqual(status, 200, body)
        self.assertEqual(ctype, "text/plain; charset=utf-8")
        got = lines(body)
        self.assertEqual(got[:3], ["[+]ping ok", "[+]grpc ok", "[+]source live ok"])
        self.assertRegex(got[3], r"^\[-\]source fc failing since \d{4}-\d\d-\d\dT[\d:.]+Z: "
                                 r".*500.* \(0 of 1 workloads cached\)$")
        self.assertEqual(got[4:], [f"{probe} check passed"])
        # ?verbose=true and ?verbose=1 are the same thing, as for the API server.
        self.assertEqual(http_get(self.d.http_port, f"/{probe}?verbose=1")[2], body)

    def test_healthz_verbose(self):
        self.check("healthz")

    def test_readyz_verbose(self):
        self.check("readyz")

    def test_defaults_unchanged(self):
        self.assertEqual(http_get(self.d.http_port, "/healthz")[::2], (200, "OK"))
        self.assertEqual(http_get(self.d.http_port, "/readyz")[::2], (200, "OK"))


class ReadyzRequiresSourcesTest(unittest.TestCase):
    def test_readiness_follows_the_sources(self):
        stub = Stub({"*": {"mode": "500"}})
        daemon = Daemon(f"""
readyz_requires_sources = true;
sources = ( {{ name = "fc"; plugin = "http"; url = "{stub.url}"; refresh = "1s"; }} );
policies = ( {{ name = "p"; plugin = "max"; lead_time = "5m"; }} );
workloads = ( {{ match = "*"; source = "fc"; policy = "p"; }} );
""", name="status-readyz")
        port = daemon.http_port
        try:
            # Nothing fetched yet: nothing is failing.
            self.assertEqual(http_get(port, "/readyz")[::2], (200, "OK"))
            self.assertEqual(rpc_code(lambda: daemon.get_metrics(daemon.ref("a"), "m")),
                             grpc.StatusCode.UNAVAILABLE)
            self.assertEqual(http_get(port, "/readyz")[::2],
                             (503, "every source is failing with nothing cached"))
            status, _, body = http_get(port, "/readyz?verbose")
            self.assertEqual(status, 503)
            got = lines(body)
            self.assertEqual(got[-2:], ["[-]sources failed: every source is failing with "
                                        "nothing cached", "readyz check failed"])
            self.assertTrue(got[2].startswith("[-]source fc failing since "), got)
            # Liveness never depends on the forecaster.
            self.assertEqual(http_get(port, "/healthz")[::2], (200, "OK"))
            self.assertEqual(lines(http_get(port, "/healthz?verbose")[2])[-1],
                             "healthz check passed")

            # The forecaster comes back: one good fetch and the source is ok again.
            stub.control({"*": {"mode": "fresh", "desiredReplicas": [3, 3]}})
            self.assertEqual(poll(lambda: http_get(port, "/readyz")[0] == 200), True)
            self.assertEqual(daemon.get_metrics(daemon.ref("b"), "m").metricValues[0]
                             .metricValue, 3)
            self.assertEqual(lines(http_get(port, "/readyz?verbose")[2])[-2:],
                             ["[+]sources ok", "readyz check passed"])

            # Failing again, but with forecasts cached: still ready (they are being served).
            stub.control({"*": {"mode": "500"}})
            self.assertTrue(poll(lambda: get_json(daemon, "/status.json")["sources"][0]["state"]
                                 == "failing"))
            self.assertEqual(http_get(port, "/readyz")[::2], (200, "OK"))
        finally:
            self.assertEqual(daemon.stop(), 0, daemon.log())
            stub.stop()


class StatusOffTest(unittest.TestCase):
    def test_status_false(self):
        d = setup_dir("status-off")
        write_json(os.path.join(d, "live.json"), [forecast("checkout", CHECKOUT, NOW)])
        daemon = Daemon(f"""
status = false;
sources = ( {{ name = "live"; plugin = "file"; path = "{d}/live.json"; }} );
policies = ( {{ name = "p"; plugin = "max"; lead_time = "5m"; }} );
workloads = ( {{ match = "*"; source = "live"; policy = "p"; }} );
""", name="status-off")
        try:
            daemon.get_metrics(daemon.ref("checkout"), "m")  # one fetch
            for path in ("/status", "/status.json", "/status?workload=checkout"):
                self.assertEqual(http_get(daemon.http_port, path)[0], 404, path)
            self.assertEqual(http_get(daemon.http_port, "/metrics")[0], 200)
            self.assertEqual(lines(http_get(daemon.http_port, "/healthz?verbose")[2])[-1],
                             "healthz check passed")
            # Turned on by a reload, like any other setting.
            with open(daemon.config) as f:
                text = f.read()
            daemon.rewrite_config(text.replace("status = false;", "status = true;"))
            daemon.reload(1)
            self.assertEqual(http_get(daemon.http_port, "/status.json")[0], 200)
            doc = get_json(daemon, "/status.json")
            self.assertEqual((doc["daemon"]["reloads"]["ok"],
                              doc["daemon"]["reloads"]["last_result"]), (1, "ok"))
            # The source's definition did not change: its counts carried over (the cached
            # forecast too, so no fetch has happened since the reload).
            self.assertEqual(doc["sources"][0]["fetches"]["success"], 1)
            self.assertEqual(doc["sources"][0]["cached"], 1)
        finally:
            self.assertEqual(daemon.stop(), 0, daemon.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
