"""The Python examples of the README, docs/Python.md and docs/FAM.md run
as written."""

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ["README.md", os.path.join("docs", "Python.md"), os.path.join("docs", "FAM.md")]


def python_blocks():
    for doc in DOCS:
        with open(os.path.join(ROOT, doc), encoding="utf-8") as f:
            text = f.read()
        blocks = re.findall(r"^```python\n(.*?)^```", text, re.S | re.M)
        assert blocks, f"{doc} has no python example"
        for i, block in enumerate(blocks):
            yield pytest.param(block, id=f"{doc}#{i}")


@pytest.mark.parametrize("code", list(python_blocks()))
def test_example_runs(code):
    exec(compile(code, "<example>", "exec"), {"__name__": "__example__"})
