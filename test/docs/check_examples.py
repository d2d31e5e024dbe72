"""Runs every ```mlir block of the given Markdown files through rotary-opt.

A block that is not a whole function is wrapped in one. Exits non-zero and
names the file and block on the first failure, so documentation can't rot.
"""
import re
import subprocess
import sys

opt = sys.argv[1]
failures = 0
count = 0
for path in sys.argv[2:]:
    text = open(path, encoding="utf-8").read()
    for index, block in enumerate(re.findall(r"```mlir\n(.*?)```", text, re.S)):
        count += 1
        if "func.func" not in block:
            block = "func.func @wrapped() {\n" + block + "\n  return\n}\n"
        run = subprocess.run([opt, "-", "--canonicalize"], input=block,
                             capture_output=True, text=True)
        if run.returncode != 0:
            failures += 1
            print(f"{path}: mlir block {index} fails:\n{run.stderr}")
print(f"checked {count} blocks, {failures} failed")
sys.exit(1 if failures or count == 0 else 0)
