"""Prints a rotary bundle manifest (rotary/Bundle/Manifest.h) one fact per
line, for FileCheck: the top-level fields, then per entry its name, symbol,
each input and output as `in|out NAME DTYPE SHAPE` (SHAPE as compact JSON,
so a dynamic dim is "?" and an output rule is {"same_as":[input,dim]}) and
each run-time check message with its 1-based number.

After content_hash, `content_hash_check=ok` (or `=MISMATCH`) says whether
it is the digest Manifest.h defines (bundle::contentHash), recomputed here
independently of the C++ code: SHA-256 over the length-prefixed manifest
JSON with content_hash "" (as the compiler's toJson writes it: 2-space
indent, keys in order, UTF-8, a final newline), the number of libraries,
and the path and bytes of each (cpu_library).

Usage: manifest_dump.py BUNDLE_DIR_OR_MANIFEST_JSON

Exits non-zero when the file is not valid JSON or lacks a field."""

import hashlib
import json
import os
import struct
import sys


def compact(value):
    return json.dumps(value, separators=(",", ":"))


def content_hash(manifest, bundle_dir):
    def field(data):
        return struct.pack("<Q", len(data)) + data

    unhashed = dict(manifest)
    unhashed["content_hash"] = ""
    text = json.dumps(unhashed, indent=2, ensure_ascii=False) + "\n"
    files = [manifest["cpu_library"]] if manifest["cpu_library"] else []
    data = field(text.encode("utf-8")) + struct.pack("<Q", len(files))
    for name in files:
        with open(os.path.join(bundle_dir, name), "rb") as f:
            data += field(name.encode("utf-8")) + field(f.read())
    return hashlib.sha256(data).hexdigest()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    if os.path.isdir(path):
        path = os.path.join(path, "manifest.json")
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    for key in ("format", "format_version", "compiler_version",
                "mlir_version", "content_hash", "cpu_library", "cpu_target"):
        print("%s=%s" % (key, compact(manifest[key])))
        if key == "content_hash":
            ok = content_hash(manifest, os.path.dirname(path)) == \
                manifest["content_hash"]
            print("content_hash_check=%s" % ("ok" if ok else "MISMATCH"))
    print("entries=%d" % len(manifest["entries"]))
    for entry in manifest["entries"]:
        print("entry %s symbol=%s" % (entry["name"], entry["symbol"]))
        for kind, label in (("inputs", "in"), ("outputs", "out")):
            for spec in entry[kind]:
                print("  %s %s %s %s" % (label, spec["name"], spec["dtype"],
                                         compact(spec["shape"])))
        for number, message in enumerate(entry["checks"], 1):
            print("  check %d: %s" % (number, message))
        print("end %s" % entry["name"])


if __name__ == "__main__":
    main()
