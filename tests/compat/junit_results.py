#!/usr/bin/env python3
"""Turns a pytest JUnit XML report into one result line per test, for run-python.sh:

    ok<TAB>NAME
    fail<TAB>NAME<TAB>REASON
    skip<TAB>NAME<TAB>REASON

A test reported more than once (e.g. passed, then errored in teardown) gets its worst result.
Exit status 2 if the report cannot be read. Standard library only.
"""

import sys
import xml.etree.ElementTree as ET

RANK = {"ok": 0, "skip": 1, "fail": 2}


def one_line(text: str, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: junit_results.py REPORT.xml", file=sys.stderr)
        return 2
    try:
        root = ET.parse(sys.argv[1]).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"cannot read {sys.argv[1]}: {e}", file=sys.stderr)
        return 2

    results = {}  # key -> (status, reason); insertion order = report order
    names = {}
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        classname = case.get("classname", "")
        key = (classname, name)
        status, reason = "ok", ""
        for child in case:
            if child.tag in ("failure", "error"):
                status = "fail"
                reason = one_line(child.get("message") or child.text or child.tag)
                break
            if child.tag == "skipped":
                status = "skip"
                reason = one_line(child.get("message") or "skipped")
        prev = results.get(key)
        if prev is None or RANK[status] > RANK[prev[0]]:
            results[key] = (status, reason)
        names.setdefault(name, set()).add(classname)

    for (classname, name), (status, reason) in results.items():
        shown = name if len(names[name]) == 1 else f"{classname}.{name}"
        fields = [status, shown] + ([reason] if status != "ok" else [])
        print("\t".join(f.replace("\t", " ").replace("\n", " ") for f in fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())
