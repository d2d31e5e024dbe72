"""same_losses.py A.csv B.csv TOLERANCE: compares two rotary-train --csv logs
row by row: the same steps, and loss, val_loss and lr equal within TOLERANCE
(relative; 0 means bit for bit). Prints "N rows, step F to L, equal" or the
first difference, and exits 1 on a difference."""

import csv
import sys

a_rows = list(csv.DictReader(open(sys.argv[1])))
b_rows = list(csv.DictReader(open(sys.argv[2])))
tolerance = float(sys.argv[3])
if [r["step"] for r in a_rows] != [r["step"] for r in b_rows]:
    sys.exit("different steps: %s and %s" % ([r["step"] for r in a_rows],
                                             [r["step"] for r in b_rows]))
for a, b in zip(a_rows, b_rows):
    for column in ("loss", "val_loss", "lr"):
        if (a[column] == "") != (b[column] == ""):
            sys.exit("step %s: %s is %r and %r" % (a["step"], column,
                                                   a[column], b[column]))
        if a[column] == "":
            continue
        x, y = float(a[column]), float(b[column])
        if abs(x - y) > tolerance * max(abs(x), abs(y)):
            sys.exit("step %s: %s differs: %r and %r" % (a["step"], column,
                                                         a[column], b[column]))
print("%d rows, step %s to %s, equal" % (len(a_rows), a_rows[0]["step"],
                                         a_rows[-1]["step"]))
