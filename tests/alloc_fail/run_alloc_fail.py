#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Allocation-failure sweep over unit-test binaries of the KD_ALLOC_FAIL build (ASan + LSan).

For each binary: one run counts the allocations our code makes (KD_ALLOC_FAIL_REPORT); then
one run per N (every N, or a stride when there are too many for the time budget) with
KD_ALLOC_FAIL_AT=N. Every run must end as a pass or a clean test failure (cmocka reported a
failed assertion: the code returned an error and the test noticed). Never a signal, a
sanitizer report (memory error, leak, undefined behaviour) or a crash cmocka caught.

A failed assertion longjmps out of the test, so whatever the test held leaks by design:
passing runs get the whole of LeakSanitizer; in a run whose test failed, a leak allocated inside
the same call from the test as the failed allocation (same test line, same function of ours,
another allocation inside it; the allocator prints the failing stack, KD_ALLOC_FAIL_STACK) is
listed as a suspect to read -- memory an error path dropped, or what a failed call rightly left
in an object the test owns (a router after a failed add) -- and fails the sweep with --strict.

  run_alloc_fail.py [--budget SECONDS] [--jobs N] [--after] BINARY...
"""
import argparse
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time

SANITIZER_MARKS = (
    "ERROR: AddressSanitizer",
    "runtime error:",  # UBSan
    "Test failed with exception",  # cmocka caught a signal
)


def env_for(extra):
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:exitcode=99:" + env.get(
        "ASAN_OPTIONS", "")
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=98"
    env.update(extra)
    return env


def run(binary, extra, timeout):
    """(returncode, output) of one run; returncode < 0 is a signal."""
    try:
        p = subprocess.run([binary], env=env_for(extra), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout,
                           cwd=os.path.dirname(binary))
    except subprocess.TimeoutExpired as e:
        return -999, (e.output or b"").decode(errors="replace") + "\n(timeout)"
    return p.returncode, p.stdout.decode(errors="replace")


def count(binary, timeout):
    with tempfile.NamedTemporaryFile("r", suffix=".count") as f:
        start = time.monotonic()
        rc, out = run(binary, {"KD_ALLOC_FAIL_REPORT": f.name}, timeout)
        took = time.monotonic() - start
        line = f.read().strip().splitlines()
    if rc != 0 or not line:
        sys.exit(f"{binary}: the run without failures did not pass (rc {rc}):\n{out}")
    return int(line[-1].split()[0].split("=")[1]), took


def frames(lines):
    """(function, location) of each '#k 0x... in function location' line."""
    out = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 4 and parts[0].startswith("#") and parts[2] == "in":
            out.append((parts[3], parts[4] if len(parts) > 4 else ""))
    return out


def call_site(stack):
    """(the test line, the function of ours it called, the frames in between) of a stack
    (innermost first), from the allocator's frame out."""
    inner = [f for f in stack if "/tests/alloc_fail/" not in f[1] and "sanitizer" not in f[1]]
    for i, (_, where) in enumerate(inner):
        if "/tests/" in where:
            return (inner[i - 1][0] if i else "", where, tuple(inner[:i]))
    return None


def stacks(out, start, end=None):
    """Each stack that follows a line containing `start`."""
    lines, found = out.splitlines(), []
    for i, line in enumerate(lines):
        if start in line:
            j = i + 1
            while j < len(lines) and lines[j].strip() and (end is None or end not in lines[j]):
                j += 1
            found.append(frames(lines[i + 1:j]))
    return found


def error_path_leak(out):
    """A direct leak allocated in the same call from the test as the failed allocation."""
    failing = [call_site(s) for s in stacks(out, "kd_alloc_fail: failing allocation",
                                            "kd_alloc_fail: end of stack")]
    for leak in stacks(out, "Direct leak of"):
        site = call_site(leak)
        for f in failing:
            # Same call from the same test line, but another allocation inside it. The very
            # same path is an earlier call's result the test still held (a loop).
            if site and f and site[:2] == f[:2] and site[2] != f[2]:
                return f"leak on the error path of {site[0]} (called at {site[1]})"
    return None


def verdict(rc, out, strict):
    """None when the run ended as a pass or a clean failure, else why not; and a suspect."""
    for mark in SANITIZER_MARKS:
        if mark in out:
            return mark, None
    suspect = None
    if "ERROR: LeakSanitizer" in out:
        if "[  FAILED  ]" not in out and "[  ERROR   ]" not in out:
            return "leak in a run whose tests passed", None
        suspect = error_path_leak(out)
        if suspect and strict:
            return suspect, None
    if rc < 0:
        return (f"killed by signal {-rc}" if rc != -999 else "timeout"), None
    if rc != 0 and "[  FAILED  ]" not in out and "[  ERROR   ]" not in out:
        return f"exit code {rc} without a cmocka report", None
    return None, suspect


def sweep(binary, budget, after, timeout, strict):
    total, took = count(binary, timeout)
    name = os.path.basename(binary)
    if total == 0:
        print(f"{name}: no allocations of ours, nothing to fail")
        return name, total, 0, 0, [], []
    runs = max(1, min(total, int(budget / max(took, 0.05))))
    stride = -(-total // runs)
    points = list(range(1, total + 1, stride))
    # Spread over the whole range first (van der Corput order), so that stopping at the time
    # limit (failing runs are slower than the count run: stacks are symbolized) still covers
    # early, middle and late allocations.
    points = [n for _, n in sorted(enumerate(points), key=lambda i_n: f"{i_n[0]:032b}"[::-1])]
    deadline = time.monotonic() + 2 * budget
    bad, suspects, failed, done = [], [], 0, 0
    for n in points:
        if done and time.monotonic() > deadline:
            break
        done += 1
        extra = {"KD_ALLOC_FAIL_AT": str(n), "KD_ALLOC_FAIL_STACK": "1"}
        if after:
            extra["KD_ALLOC_FAIL_AFTER"] = "1"
        rc, out = run(binary, extra, timeout)
        why, suspect = verdict(rc, out, strict)
        failed += rc != 0
        if why:
            bad.append((n, why, out))
        if suspect:
            suspects.append((n, suspect))
    print(f"{name}: {total} allocations, {done} of {len(points)} runs (stride {stride}), "
          f"{failed} clean test failures, {len(bad)} bad, {len(suspects)} suspect", flush=True)
    return name, total, done, failed, bad, suspects


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=float(os.environ.get("KD_ALLOC_FAIL_BUDGET", 8)),
                    help="seconds of runs per binary (decides the stride)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--after", action="store_true", help="fail every allocation from N on")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--strict", action="store_true", help="a suspect leak fails the sweep")
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    args.binaries = [os.path.abspath(b) for b in args.binaries]

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda b: sweep(b, args.budget, args.after, args.timeout,
                                                  args.strict),
                                args.binaries))
    bad = [(name, n, why, out) for name, _, _, _, b, _ in results for n, why, out in b]
    total_runs = sum(r[2] for r in results)
    for name, _, _, _, _, suspects in results:
        for n, why in suspects[:3]:
            print(f"suspect: {name} KD_ALLOC_FAIL_AT={n}: {why}")
    print(f"{len(results)} binaries, {total_runs} runs, {len(bad)} bad, "
          f"{time.monotonic() - start:.0f} s")
    for name, n, why, out in bad[:10]:
        print(f"\n==== {name} KD_ALLOC_FAIL_AT={n}: {why}\n{out[-6000:]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
