#!/usr/bin/env python3
"""The runner's xcpp-mode checks must reject what a Jupyter front end could not show: a
displayed image/png that is not base64, or base64 of something that is not a PNG, and a
display cell that displayed nothing. usage: test_display_check.py tools/run_notebook.py"""
import base64, importlib.util, io, contextlib, json, struct, sys, zlib

spec = importlib.util.spec_from_file_location("run_notebook", sys.argv[1])
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)


def png(width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


def bundle(value):
    return json.dumps({"image/png": value})


good = base64.b64encode(png(3, 2)).decode()
failures = []
def expect(what, got, want_ok):
    if (got is None) != want_ok:
        failures.append("%s: got %r" % (what, got))

expect("a valid PNG", runner.bundle_problem(bundle(good)), True)
expect("text/plain only", runner.bundle_problem(json.dumps({"text/plain": "x"})), True)
expect("not base64", runner.bundle_problem(bundle("!!not base64!!")), False)
expect("base64 of text", runner.bundle_problem(bundle(base64.b64encode(b"hello, not a picture").decode())), False)
corrupt = bytearray(png(3, 2)); corrupt[17] ^= 1
expect("a broken IHDR CRC", runner.bundle_problem(bundle(base64.b64encode(bytes(corrupt)).decode())), False)
expect("zero width", runner.bundle_problem(bundle(base64.b64encode(png(0, 2)).decode())), False)
expect("not JSON", runner.bundle_problem("{not json"), False)
expect("an empty bundle", runner.bundle_problem("{}"), False)

# a cell that calls xcpp::display but displayed nothing fails in xcpp mode (not in plain mode)
nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["nondeterministic"]},
                 "source": "xcpp::display(x);", "outputs": []}]}
with contextlib.redirect_stdout(io.StringIO()) as out:
    silent = runner.check(nb, "t.ipynb", "xcpp", [0], {0: ""}, {0: []}, "", False, True)
if silent or "displayed nothing" not in out.getvalue():
    failures.append("a silent display cell passed in xcpp mode: " + out.getvalue())
with contextlib.redirect_stdout(io.StringIO()):
    if not runner.check(nb, "t.ipynb", "plain", [0], {0: ""}, {0: []}, "", False, True):
        failures.append("plain mode wrongly required a display")
    if not runner.check(nb, "t.ipynb", "xcpp", [0], {0: ""}, {0: [bundle(good)]}, "", False, True):
        failures.append("a cell that displayed a valid PNG failed")

print("\n".join(failures) if failures else "display checks ok")
sys.exit(1 if failures else 0)
