#!/usr/bin/env python3
"""Executes a xeus-cling (xcpp17) notebook without Jupyter, with clang-repl-19.

    tools/run_notebook.py NOTEBOOK.ipynb [--build-dir DIR | --prefix DIR] [--mode plain|xcpp|both]
                          [--update] [--timeout S] [--quiet]

Where tapir is: every notebook's first code cell (tagged "tapir-paths") says it with
`#pragma cling add_include_path(...)` and `add_library_path(...)`, as a Jupyter user would.
Without options the cell runs as written (its relative paths start at the notebook's folder:
a checkout built into build/). --build-dir DIR points both pragmas at a meson build folder
(DIR/include, DIR); --prefix DIR at an installation (DIR/include and the folder of
DIR/lib*/**/libtapir.so, e.g. DIR/lib/x86_64-linux-gnu). Nothing else in the notebook changes.

Modes: "plain" runs the notebook as clang-repl sees it (no xeus-cling headers); "xcpp" adds
tests/notebooks/xcpp_standin to the include path, stand-ins for xeus-cling's xcpp/xdisplay.hpp
and xcpp/xmime.hpp that expose what the real ones do, so the `#if __has_include("xcpp/...")`
branches Jupyter users take are compiled and run too. Displayed mime bundles are recorded: an
image/png must be valid base64 of a PNG, and a cell that calls xcpp::display must display.
"both" (the default) runs plain, then xcpp.

Code cells run in order in one clang-repl-19 process (one cell per argument). The cling pragmas
are mapped: add_include_path -> -I, add_library_path -> a search path, load("libX") -> a dlopen
cell. A trailing expression (xeus-cling displays it) is rewritten into a print. After every cell
a marker is printed, so each cell's output and compiler errors are attributed to that cell.
The interpreter runs in a temporary folder, so files a notebook writes do not land in the tree.

Checks: the first cell that fails to compile or crashes is reported with the compiler's
message; each cell's printed output must equal the stdout stored in the notebook, unless the
cell's metadata tags contain "nondeterministic". --update stores the actual outputs instead
(from the plain run). Exit status 0 = passed. Standard library only (python3-nbformat is used
for validation when present).
"""
import argparse, base64, binascii, glob, json, os, re, shutil, struct, subprocess, sys, tempfile, zlib

MARK = "@@TAPIR_CELL_END@@"
DISPLAY_MARK = "@@TAPIR_XCPP_DISPLAY@@"
PATHS_TAG = "tapir-paths"
REPL = os.environ.get("CLANG_REPL", "clang-repl-19")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
XCPP_STANDIN = os.path.join(ROOT, "tests", "notebooks", "xcpp_standin")
PRAGMA = re.compile(r'^(\s*#\s*pragma\s+cling\s+)(add_include_path|add_library_path|load)(\s*\(\s*")([^"]*)("\s*\)\s*)$')


class RunnerError(Exception):
    """A problem with the notebook or the options (not a failing cell)."""


def cell_source(cell):
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def strip_comments(line):
    return re.sub(r"//.*$", "", line).rstrip()


def rewrite_trailing_expression(code):
    """`expr` as the last statement of a cell (no `;`) is displayed by xeus-cling: print it."""
    lines = code.rstrip().split("\n")
    if not lines:
        return code
    last = strip_comments(lines[-1])
    if (not last or last.endswith((";", "}", "{")) or last.lstrip().startswith("#")
            or last.strip().startswith(("//", "/*"))):
        return code
    # a single-line trailing expression: print it like the kernel would display it
    indent = len(last) - len(last.lstrip())
    lines[-1] = " " * indent + "std::cout << (" + last.strip() + ") << std::endl;"
    return "\n".join(lines)


def load_cell(path):
    return ('#include <dlfcn.h>\n#include <cstdio>\n'
            'if (!dlopen("%s", RTLD_NOW | RTLD_GLOBAL)) { std::fprintf(stderr, "error: dlopen failed: %%s\\n", dlerror()); }' % path)


def tapir_paths(build_dir, prefix):
    """(include dir, library dir) from --build-dir or --prefix; None when neither is given."""
    if build_dir:
        root = os.path.abspath(build_dir)
        include, lib = os.path.join(root, "include"), root
    elif prefix:
        root = os.path.abspath(prefix)
        include = os.path.join(root, "include")
        found = sorted(glob.glob(os.path.join(root, "lib*", "libtapir.so")) +
                       glob.glob(os.path.join(root, "lib*", "*", "libtapir.so")))
        if not found:
            raise RunnerError("--prefix %s: no libtapir.so under %s/lib*/ (was tapir installed there?)" % (prefix, root))
        lib = os.path.dirname(found[0])
    else:
        return None
    if not os.path.exists(os.path.join(include, "tapir", "tapir.hpp")):
        raise RunnerError("%s has no tapir/tapir.hpp" % include)
    if not os.path.exists(os.path.join(lib, "libtapir.so")):
        raise RunnerError("%s has no libtapir.so" % lib)
    return include, lib


def set_paths(nb, paths):
    """Checks the notebook's first code cell is its paths cell and, given `paths`, points its
    add_include_path / add_library_path pragmas there."""
    code_cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    first = code_cells[0] if code_cells else None
    if first is None or PATHS_TAG not in first.get("metadata", {}).get("tags", []):
        raise RunnerError('the first code cell must be the paths cell, tagged "%s"' % PATHS_TAG)
    kinds = [PRAGMA.match(l).group(2) for l in cell_source(first).split("\n") if PRAGMA.match(l)]
    if "add_include_path" not in kinds or "add_library_path" not in kinds:
        raise RunnerError("the paths cell must hold add_include_path and add_library_path pragmas")
    if paths is None:
        return
    lines = []
    for line in cell_source(first).split("\n"):
        m = PRAGMA.match(line)
        if m and m.group(2) in ("add_include_path", "add_library_path"):
            value = paths[0] if m.group(2) == "add_include_path" else paths[1]
            line = m.group(1) + m.group(2) + m.group(3) + value + m.group(5)
        lines.append(line)
    first["source"] = "\n".join(lines)


def prepare(nb, nb_path):
    """Returns (flags, list of (cell_index, pieces)) for the notebook's code cells."""
    base = os.path.dirname(os.path.abspath(nb_path))
    flags = ["--Xcc=-std=c++17", "--Xcc=-O2", "--Xcc=-fno-relaxed-template-template-args",
             "--Xcc=-Wno-deprecated-no-relaxed-template-template-args"]
    lib_paths, cells = [], []
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        kept, loads = [], []
        for line in cell_source(cell).split("\n"):
            m = PRAGMA.match(line)
            if not m:
                kept.append(line)
                continue
            kind, arg = m.group(2), m.group(4)
            path = arg if os.path.isabs(arg) else os.path.normpath(os.path.join(base, arg))
            if kind == "add_include_path":
                flags.append("--Xcc=-I" + path)
            elif kind == "add_library_path":
                lib_paths.append(path)
            else:
                name = arg if arg.endswith(".so") else arg + ".so"
                found = [os.path.join(p, name) for p in lib_paths if os.path.exists(os.path.join(p, name))]
                loads.append(found[0] if found else name)
        code = "\n".join(kept).strip()
        pieces = [load_cell(p) for p in loads]
        if code:
            pieces.append(rewrite_trailing_expression(code))
        cells.append((index, pieces))
    return flags, cells


def run(nb, nb_path, mode, timeout):
    flags, cells = prepare(nb, nb_path)
    if mode == "xcpp":
        flags.append("--Xcc=-I" + XCPP_STANDIN)
    args = [REPL] + flags + ["#include <iostream>\n#include <cstdio>"]
    for index, pieces in cells:
        args.extend(pieces)
        args.append('std::fflush(nullptr); std::cout << "\\n%s %d" << std::endl; std::fflush(nullptr);' % (MARK, index))
    args.append("std::fflush(nullptr); std::_Exit(0);")
    with tempfile.TemporaryDirectory(prefix="tapir_notebook_") as work:
        proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, errors="replace", cwd=work)
    # split the merged output at the markers; display lines go to their cell's bundles
    outputs, displays, current, shown = {}, {}, [], []
    for line in proc.stdout.split("\n"):
        m = re.match(r"^%s (\d+)$" % MARK, line.strip())
        if m:
            idx = int(m.group(1))
            outputs[idx], displays[idx] = "\n".join(current), shown
            current, shown = [], []
        elif line.startswith(DISPLAY_MARK + " "):
            shown.append(line[len(DISPLAY_MARK) + 1:])
        else:
            current.append(line)
    return [c[0] for c in cells], outputs, displays, "\n".join(current)


def is_error(text):
    return re.search(r"(^|\n)\s*(\S+:\d+:\d+: )?error: |(^|\n)In file included from", text) is not None


def stored_stdout(cell):
    text = ""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stdout":
            text += "".join(out["text"]) if isinstance(out["text"], list) else out["text"]
    return text


def normalise(text):
    return "\n".join(l.rstrip() for l in text.strip("\n").split("\n")).strip()


def png_problem(data):
    """None if `data` is a PNG with a well-formed IHDR chunk, else what is wrong."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return "no PNG signature"
    if len(data) < 33 or data[12:16] != b"IHDR" or struct.unpack(">I", data[8:12])[0] != 13:
        return "the first chunk is not IHDR"
    if zlib.crc32(data[12:29]) != struct.unpack(">I", data[29:33])[0]:
        return "IHDR CRC mismatch"
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0:
        return "zero size %dx%d" % (width, height)
    return None


def bundle_problem(line):
    """None if a recorded display line is a mime bundle whose images are valid, else why not."""
    try:
        bundle = json.loads(line)
    except ValueError as e:
        return "the displayed bundle is not JSON (%s)" % e
    if not isinstance(bundle, dict) or not bundle:
        return "the displayed bundle is not a non-empty object: %s" % line[:200]
    for mime, value in bundle.items():
        if mime != "image/png":
            continue
        if not isinstance(value, str):
            return "image/png is not a string"
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as e:
            return "image/png is not valid base64 (%s)" % e
        problem = png_problem(data)
        if problem:
            return "image/png decodes to something that is not a PNG: %s" % problem
    return None


def check(nb, name, mode, order, outputs, displays, leftover, update, quiet):
    """Reports the first failure of a run; returns True if every cell passed."""
    for number, idx in enumerate(order, 1):
        cell = nb["cells"][idx]
        where = "%s [%s]: FAILED at cell %d (code cell %d)" % (name, mode, idx, number)
        if idx not in outputs:
            # the first error is the cause; what follows is often fallout (a failed cell can leave
            # clang-repl without its earlier declarations)
            first = re.search(r"(^|\n)[^\n]*error: ", leftover)
            start = max(0, first.start() - 1500) if first else max(0, len(leftover) - 3000)
            kind = "compile error" if first else "the interpreter stopped (crash or uncaught exception)"
            print("%s: %s\n%s" % (where, kind, leftover[start:start + 3000].strip()))
            return False
        text = outputs[idx]
        if is_error(text):
            print("%s: compile error\n%s" % (where, text.strip()[-3000:]))
            return False
        for line in displays.get(idx, []):
            problem = bundle_problem(line)
            if problem:
                print("%s: %s" % (where, problem))
                return False
        if mode == "xcpp" and "xcpp::display(" in cell_source(cell) and not displays.get(idx):
            print("%s: the cell calls xcpp::display but displayed nothing" % where)
            return False
        tags = cell.get("metadata", {}).get("tags", [])
        if update:
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text.strip("\n") + "\n"}] if text.strip() else []
            cell["execution_count"] = number
        elif "nondeterministic" not in tags and normalise(text) != normalise(stored_stdout(cell)):
            print("%s: output differs\n--- expected\n%s\n--- actual\n%s"
                  % (where, normalise(stored_stdout(cell)), normalise(text)))
            return False
        if not quiet and text.strip():
            print("[%s cell %d]\n%s" % (mode, idx, text.strip("\n")))
    shown = sum(len(v) for v in displays.values())
    print("%s [%s]: %d code cells passed%s" % (name, mode, len(order), ", %d displayed" % shown if mode == "xcpp" else ""))
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebook")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--build-dir", help="a meson build folder (DIR/include, DIR/libtapir.so)")
    where.add_argument("--prefix", help="an installation prefix (DIR/include, DIR/lib*/libtapir.so)")
    ap.add_argument("--mode", choices=["plain", "xcpp", "both"], default="both")
    ap.add_argument("--update", action="store_true", help="store the actual outputs in the notebook")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if shutil.which(REPL) is None:
        print("run_notebook: %s not found (apt-get install clang-19 clang-tools-19)" % REPL)
        return 2
    try:
        import nbformat  # noqa: F401  (Debian: python3-nbformat)
        nbformat.validate(nbformat.read(a.notebook, as_version=4))
    except ImportError:
        pass
    except Exception as e:  # noqa: BLE001 - any validation failure is reported as such
        print("run_notebook: %s is not a valid notebook: %s" % (a.notebook, e))
        return 1
    name = os.path.basename(a.notebook)
    stored = json.load(open(a.notebook))
    try:
        paths = tapir_paths(a.build_dir, a.prefix)
    except RunnerError as e:
        print("run_notebook: %s" % e)
        return 2
    modes = ["plain", "xcpp"] if a.mode == "both" else [a.mode]
    for mode in modes:
        nb = json.loads(json.dumps(stored))  # each run starts from the notebook as stored
        try:
            set_paths(nb, paths)
        except RunnerError as e:
            print("run_notebook: %s: %s" % (name, e))
            return 1
        update = a.update and mode == modes[0]
        order, outputs, displays, leftover = run(nb, a.notebook, mode, a.timeout)
        if not check(nb, name, mode, order, outputs, displays, leftover, update, a.quiet):
            return 1
        if update:
            # outputs go into the stored notebook; its paths cell stays as the user wrote it
            for cell, updated in zip(stored["cells"], nb["cells"]):
                if cell.get("cell_type") == "code":
                    cell["outputs"], cell["execution_count"] = updated["outputs"], updated["execution_count"]
            tmp = a.notebook + ".tmp"
            with open(tmp, "w") as f:
                json.dump(stored, f, indent=1, ensure_ascii=False)
                f.write("\n")
            os.replace(tmp, a.notebook)
    return 0


if __name__ == "__main__":
    sys.exit(main())
