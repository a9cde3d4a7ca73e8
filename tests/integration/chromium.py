# SPDX-License-Identifier: Apache-2.0
"""Headless Chromium (Debian `chromium`) as an independent HTML client: the DOM it builds from
a page, and a screenshot. No JavaScript of ours runs; Chromium only parses and renders."""
import os
import shutil
import subprocess
import tempfile


def binary():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise AssertionError("chromium not found: install the Debian package 'chromium' "
                             "(scripts/install-deps.sh --tests)")
    return path


def _run(args, url, timeout=120):
    with tempfile.TemporaryDirectory(prefix="kd-chromium-") as profile:
        # --no-sandbox: the tests run as root in CI; the page is ours, on loopback.
        cmd = [binary(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
               f"--user-data-dir={profile}", *args, url]
        r = subprocess.run(cmd, capture_output=True, timeout=timeout,
                           env=dict(os.environ, HOME=profile))
        if r.returncode != 0:
            raise AssertionError(f"chromium exit {r.returncode}: {r.stderr.decode()[-2000:]}")
        return r.stdout


def dump_dom(url):
    """The document as Chromium parsed it, serialised (after any parser fix-ups)."""
    return _run(["--dump-dom"], url).decode()


def screenshot(url, path, width=1200, height=800):
    """A PNG of the page as rendered at width x height."""
    if os.path.exists(path):
        os.remove(path)
    _run([f"--screenshot={path}", f"--window-size={width},{height}"], url)
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise AssertionError(f"{path}: not a PNG")
    return data
