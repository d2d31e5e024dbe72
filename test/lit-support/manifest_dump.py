"""Prints a rotary bundle manifest (rotary/Bundle/Manifest.h) one fact per
line, for FileCheck: the top-level fields, then per entry its name, symbol,
each input and output as `in|out NAME DTYPE SHAPE` (SHAPE as compact JSON,
so a dynamic dim is "?" and an output rule is {"same_as":[input,dim]}) and
each run-time check message with its 1-based number.

Usage: manifest_dump.py BUNDLE_DIR_OR_MANIFEST_JSON

Exits non-zero when the file is not valid JSON or lacks a field."""

import json
import os
import sys


def compact(value):
    return json.dumps(value, separators=(",", ":"))


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
