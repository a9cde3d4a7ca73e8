#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Check every #include of src/, plugins/ and examples/ against the layer rules.

The rules come from the link graph in src/CMakeLists.txt (not from a list kept here):
  - a file in src/<dir>/ may include "<dir>/..." and the headers of the layers its library
    links, directly or through PUBLIC links; a bare "x.h" must be in its own folder, be
    generated (version.h, *.pb-c.h of kd_proto) or sit in a folder its target adds;
  - "<x>_private.h" is for its own folder only;
  - plugins and examples include <kedastral/...>, their own folder and plugins/common, and
    nothing of src/ or of libevent (the host lends its loop through struct kd_host);
  - kd_layer_headers(target layer...) counts as a link edge: the module kedastral-tls sees the
    headers of grpc and util but links neither (grpc/tls_module.h);
  - every link edge between two layers is used by at least one #include.
Prints the graph it checked; exits 1 with one line per violation.
"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                       os.path.join(os.path.dirname(__file__), ".."))
SRC = os.path.join(ROOT, "src")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def cmake_calls(text, name):
    """(args...) of every call of `name` in a CMake file, comments removed."""
    text = re.sub(r"#[^\n]*", "", text)
    for m in re.finditer(r"\b%s\s*\(([^)]*)\)" % re.escape(name), text):
        yield m.group(1).split()


def read_graph():
    text = open(os.path.join(SRC, "CMakeLists.txt")).read()
    dir_of = {"kedastral-scaler": ""}  # target -> folder under src/ ("" is src/ itself)
    for args in cmake_calls(text, "add_library"):
        sources = [a for a in args[1:] if a.endswith(".c") and "/" in a and "$" not in a]
        if sources:
            dir_of[args[0]] = sources[0].split("/")[0]
    edges, extra = {}, {}
    for args in cmake_calls(text, "target_link_libraries"):
        deps = [a for a in args[1:] if a not in ("PUBLIC", "PRIVATE", "INTERFACE")]
        edges.setdefault(args[0], set()).update(d for d in deps if d in dir_of or d == "kd_proto")
    for args in cmake_calls(text, "kd_layer_headers"):
        edges.setdefault(args[0], set()).update(d for d in args[1:] if d in dir_of)
    for args in cmake_calls(text, "target_include_directories"):
        for a in args[1:]:
            if "${CMAKE_SOURCE_DIR}/" in a:
                extra.setdefault(args[0], []).append(a.replace("${CMAKE_SOURCE_DIR}", ROOT))
    return dir_of, edges, extra


def closure(target, edges):
    seen, todo = set(), [target]
    while todo:
        for d in edges.get(todo.pop(), ()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


def sources_under(top):
    for base, _, files in os.walk(top):
        for f in sorted(files):
            if f.endswith((".c", ".h")):
                yield os.path.join(base, f)


def main():
    dir_of, edges, extra = read_graph()
    target_of = {d: t for t, d in dir_of.items()}
    layer_dirs = {d for d in dir_of.values() if d}
    problems, used = [], set()

    def rel(path):
        return os.path.relpath(path, ROOT)

    for path in sources_under(SRC):
        here = os.path.relpath(os.path.dirname(path), SRC)
        here = "" if here == "." else here.split(os.sep)[0]
        target = target_of.get(here)
        if target is None:
            problems.append(f"{rel(path)}: folder src/{here}/ belongs to no library")
            continue
        reach = closure(target, edges)
        reach_dirs = {dir_of[t] for t in reach if t in dir_of}
        for kind, inc in INCLUDE.findall(open(path, errors="replace").read()):
            if kind == "<":
                continue
            if ".." in inc.split("/"):
                problems.append(f"{rel(path)}: #include \"{inc}\" climbs out with ..")
                continue
            first = inc.split("/")[0]
            if "/" in inc and first in layer_dirs and os.path.exists(os.path.join(SRC, inc)):
                if inc.endswith("_private.h") and first != here:
                    problems.append(f"{rel(path)}: #include \"{inc}\" is private to src/{first}/")
                elif first != here and first not in reach_dirs and here != "":
                    problems.append(f"{rel(path)}: #include \"{inc}\": {target} does not link "
                                    f"{target_of[first]} (links: {', '.join(sorted(reach))})")
                elif first != here:
                    used.add((target, target_of[first]))
                continue
            if inc.endswith(".pb-c.h"):
                if "kd_proto" not in reach and here != "":
                    problems.append(f"{rel(path)}: #include \"{inc}\" needs kd_proto")
                used.add((target, "kd_proto"))
                continue
            if "/" not in inc and os.path.exists(os.path.join(os.path.dirname(path), inc)):
                continue
            if inc == "version.h":
                continue  # generated, exported by kd_util
            dirs = extra.get(target, [])
            if any(os.path.exists(os.path.join(d, inc)) for d in dirs):
                continue
            problems.append(f"{rel(path)}: #include \"{inc}\" resolves to nothing {target} "
                            f"may include")

    for top in ("plugins", "examples"):
        for path in sources_under(os.path.join(ROOT, top)):
            own = os.path.dirname(path)
            for kind, inc in INCLUDE.findall(open(path, errors="replace").read()):
                if kind == "<":
                    if inc.split("/")[0] in ("event2", "event.h", "evhttp.h"):
                        problems.append(f"{rel(path)}: <{inc}>: plugins use the host's timers "
                                        f"and watches, not libevent")
                    continue
                if "/" not in inc and (os.path.exists(os.path.join(own, inc)) or
                                       os.path.exists(os.path.join(ROOT, "plugins/common", inc))):
                    continue
                problems.append(f"{rel(path)}: #include \"{inc}\": a plugin sees only "
                                f"<kedastral/plugin.h>, its own folder and plugins/common")

    for t in sorted(edges):
        if t not in dir_of:
            continue
        for d in sorted(edges[t]):
            if d in dir_of or d == "kd_proto":
                if (t, d) not in used:
                    problems.append(f"link edge {t} -> {d} is unused: no file of src/{dir_of[t]}/ "
                                    f"includes a header of {d}; drop it from src/CMakeLists.txt")

    for t in sorted(edges, key=lambda t: dir_of.get(t, "")):
        deps = sorted(d for d in edges[t] if d in dir_of or d == "kd_proto")
        print(f"{t:18} -> {', '.join(deps) if deps else '(nothing of ours)'}")
    for p in problems:
        print("LAYER:", p)
    if problems:
        return 1
    print(f"ok: every #include follows the link graph, every edge is used")
    return 0


if __name__ == "__main__":
    sys.exit(main())
