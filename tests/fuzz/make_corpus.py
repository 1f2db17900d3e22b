#!/usr/bin/env python3
"""Writes the seed corpus of the loader fuzzers (tests/fuzz/corpus/{npy,npz,idx}); stdlib only.
Run from anywhere; the files are committed, this script documents how they were made."""
import gzip, io, os, struct, zipfile

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def npy(shape, descr="<f4", version=1, data=None):
    dims = ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "")
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (descr, dims)
    size = 4 if descr.endswith("4") else 8
    n = 1
    for d in shape:
        n *= d
    lenbytes = 2 if version == 1 else 4
    pad = (64 - (6 + 2 + lenbytes + len(header) + 1) % 64) % 64
    header = header + " " * pad + "\n"
    out = b"\x93NUMPY" + bytes([version, 0])
    out += struct.pack("<H" if version == 1 else "<I", len(header)) + header.encode()
    return out + (data if data is not None else bytes(range(256)) * (n * size // 256) + bytes(n * size % 256))

def write(kind, name, data):
    os.makedirs(os.path.join(here, kind), exist_ok=True)
    with open(os.path.join(here, kind, name), "wb") as f:
        f.write(data)

write("npy", "f4_2x3.npy", npy((2, 3)))
write("npy", "f8_scalar.npy", npy((), "<f8"))
write("npy", "f4_5.npy", npy((5,)))
write("npy", "f8_v2_2x2x2.npy", npy((2, 2, 2), "<f8", version=2))
write("npy", "f4_empty_0x4.npy", npy((0, 4)))
write("npy", "f4_rank6.npy", npy((1, 2, 1, 2, 1, 2)))

def npz(entries, method):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as z:
        for name, data in entries:
            z.writestr(name, data)
    return b.getvalue()

write("npz", "stored_two.npz", npz([("w.npy", npy((2, 3))), ("b.npy", npy((3,), "<f8"))], zipfile.ZIP_STORED))
write("npz", "deflated_one.npz", npz([("layer/kernel_loc.npy", npy((4, 2)))], zipfile.ZIP_DEFLATED))
write("npz", "empty.npz", npz([], zipfile.ZIP_STORED))

def idx(shape, data=None):
    n = 1
    for d in shape:
        n *= d
    return bytes([0, 0, 8, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + \
        (data if data is not None else bytes(i % 256 for i in range(n)))

write("idx", "images_2x3x3.idx", idx((2, 3, 3)))
write("idx", "labels_5.idx", idx((5,)))
write("idx", "images_2x3x3.idx.gz", gzip.compress(idx((2, 3, 3)), mtime=0))
write("idx", "empty_0.idx", idx((0,)))
