"""small_checkpoint.py IN OUT: a fuzz seed in rotary-train's checkpoint format
(tools/rotary-train/Checkpoint.h) with IN's header and a 16-byte payload, so
that mutations of the header are cheap to explore."""

import hashlib
import sys

data = open(sys.argv[1], "rb").read()
header, sep, _ = data.partition(b"\n\n")
if not sep:
    sys.exit("%s: no header" % sys.argv[1])
payload = b"0123456789abcdef"
lines = [l for l in header.split(b"\n")
         if not l.startswith(b"payload_bytes=") and
         not l.startswith(b"payload_sha256=")]
lines += [b"payload_bytes=%d" % len(payload),
          b"payload_sha256=" + hashlib.sha256(payload).hexdigest().encode()]
with open(sys.argv[2], "wb") as f:
    f.write(b"\n".join(lines) + b"\n\n" + payload)
