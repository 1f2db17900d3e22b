#!/usr/bin/env python3
"""Sums test cases over meson's testlog.json: a doctest suite contributes its own counts, any
other test counts as one case. Prints 'N passed, M failed'; exits 1 if anything failed."""
import json, re, sys

passed = failed = 0
with open(sys.argv[1]) as log:
    for line in log:
        t = json.loads(line)
        m = re.search(r"test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed", t.get("stdout", ""))
        ok = t.get("result") == "OK"
        if m:
            passed += int(m.group(2))
            failed += int(m.group(3)) + (0 if ok or int(m.group(3)) else 1)
        else:
            passed, failed = passed + ok, failed + (not ok)
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
