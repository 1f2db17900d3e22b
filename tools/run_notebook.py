#!/usr/bin/env python3
"""Executes a xeus-cling (xcpp17) notebook without Jupyter, with clang-repl-19.

    tools/run_notebook.py NOTEBOOK.ipynb [--update] [--timeout S] [--quiet]

Code cells run in order in one clang-repl-19 process (one cell per argument). The cling pragmas
are mapped: add_include_path -> -I, add_library_path -> a search path, load("libX") -> a dlopen
cell. A trailing expression (xeus-cling displays it) is rewritten into a print. After every cell
a marker is printed, so each cell's output and compiler errors are attributed to that cell.

Checks: the first cell that fails to compile or crashes is reported with the compiler's
message; each cell's printed output must equal the stdout stored in the notebook, unless the
cell's metadata tags contain "nondeterministic". --update stores the actual outputs instead.
Relative paths in pragmas are resolved against the notebook's folder. Exit status 0 = passed.
Standard library only (python3-nbformat is used for validation when present).
"""
import argparse, json, os, re, shutil, subprocess, sys

MARK = "@@TAPIR_CELL_END@@"
REPL = os.environ.get("CLANG_REPL", "clang-repl-19")
PRAGMA = re.compile(r'^\s*#\s*pragma\s+cling\s+(add_include_path|add_library_path|load)\s*\(\s*"([^"]*)"\s*\)\s*$')


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


def prepare(nb_path):
    """Returns (flags, list of (cell_index, code)) for the notebook's code cells."""
    base = os.path.dirname(os.path.abspath(nb_path))
    nb = json.load(open(nb_path))
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
            kind, arg = m.groups()
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
        cells.append((index, nb, pieces))
    return nb, flags, cells


def run(nb_path, timeout):
    nb, flags, cells = prepare(nb_path)
    args = [REPL] + flags + ["#include <iostream>\n#include <cstdio>"]
    owner = []  # for each marker, the notebook cell it closes
    for index, _, pieces in cells:
        for piece in pieces:
            args.append(piece)
        args.append('std::fflush(nullptr); std::cout << "\\n%s %d" << std::endl; std::fflush(nullptr);' % (MARK, index))
        owner.append(index)
    args.append("std::fflush(nullptr); std::_Exit(0);")
    env = dict(os.environ)
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, env=env, errors="replace")
    # split the merged output at the markers
    outputs, current, seen = {}, [], []
    for line in proc.stdout.split("\n"):
        m = re.match(r"^%s (\d+)$" % MARK, line.strip())
        if m:
            idx = int(m.group(1))
            outputs[idx] = "\n".join(current)
            seen.append(idx)
            current = []
        else:
            current.append(line)
    leftover = "\n".join(current)
    return nb, [c[0] for c in cells], outputs, seen, leftover


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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebook")
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
    nb, order, outputs, seen, leftover = run(a.notebook, a.timeout)
    name = os.path.basename(a.notebook)
    for number, idx in enumerate(order, 1):
        cell = nb["cells"][idx]
        if idx not in outputs:
            print("%s: FAILED at cell %d (code cell %d): the interpreter stopped (crash or uncaught exception)" % (name, idx, number))
            print(leftover[-3000:])
            return 1
        text = outputs[idx]
        if is_error(text):
            print("%s: FAILED at cell %d (code cell %d): compile error\n%s" % (name, idx, number, text.strip()[-3000:]))
            return 1
        tags = cell.get("metadata", {}).get("tags", [])
        if a.update:
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text.strip("\n") + "\n"}] if text.strip() else []
            cell["execution_count"] = number
        elif "nondeterministic" not in tags and normalise(text) != normalise(stored_stdout(cell)):
            print("%s: FAILED at cell %d (code cell %d): output differs\n--- expected\n%s\n--- actual\n%s"
                  % (name, idx, number, normalise(stored_stdout(cell)), normalise(text)))
            return 1
        if not a.quiet and text.strip():
            print("[cell %d]\n%s" % (idx, text.strip("\n")))
    if a.update:
        tmp = a.notebook + ".tmp"
        with open(tmp, "w") as f:
            json.dump(nb, f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.replace(tmp, a.notebook)
    print("%s: %d code cells passed" % (name, len(order)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
