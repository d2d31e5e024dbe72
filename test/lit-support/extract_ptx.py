"""Writes the PTX that rotary-gpu-pipeline embeds in its gpu.binary ops to
files, one per kernel module and chip: OUT_DIR/NAME.CHIP.ptx, and prints
their names, one per line.

Usage: extract_ptx.py INPUT.mlir OUT_DIR [PTXAS]

With PTXAS (the CUDA toolkit's ptxas), each file is also assembled for its
chip with -v, and ptxas's report follows its name (registers, stack frame,
spill stores and loads), for FileCheck.

Exits non-zero when the input holds no PTX (format=isa objects) or ptxas
rejects a file."""

import os
import re
import subprocess
import sys

BINARY = re.compile(r'gpu\.binary @(\w+)\s*\[(.*?)\]\s*$', re.M | re.S)
OBJECT = re.compile(
    r'#gpu\.object<#nvvm\.target<[^>]*chip = "(\w+)"[^>]*>.*?'
    r'assembly = "((?:[^"\\]|\\.)*)"', re.S)


def unescape(text):
    """MLIR string escapes: \\XX (two hex digits), \\\\, \\", \\n, \\t."""
    out, i = bytearray(), 0
    while i < len(text):
        c = text[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        nxt = text[i + 1]
        if nxt in '\\"':
            out += nxt.encode()
            i += 2
        elif nxt in "nt":
            out += b"\n" if nxt == "n" else b"\t"
            i += 2
        else:
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
    return out.decode()


def assemble(ptxas, path, chip):
    """ptxas -v's report on one file; exits with its message on failure."""
    run = subprocess.run([ptxas, f"-arch={chip}", "-v", path, "-o", os.devnull],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"extract_ptx.py: ptxas rejects {path}:\n{run.stderr}")
    return run.stdout + run.stderr


def main():
    source, out_dir = sys.argv[1], sys.argv[2]
    ptxas = sys.argv[3] if len(sys.argv) > 3 else None
    with open(source, encoding="utf-8") as f:
        text = f.read()
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for binary in BINARY.finditer(text):
        for obj in OBJECT.finditer(binary.group(2)):
            name = f"{binary.group(1)}.{obj.group(1)}.ptx"
            path = os.path.join(out_dir, name)
            with open(path, "w", encoding="utf-8") as f:
                f.write(unescape(obj.group(2)))
            written.append(name)
            print(name)
            if ptxas:
                print(assemble(ptxas, path, obj.group(1)).strip())
    if not written:
        sys.exit(f"extract_ptx.py: no PTX in {source}")


if __name__ == "__main__":
    main()
