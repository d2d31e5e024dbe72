"""torchrun.py N [--start K] PROGRAM ARGS...: starts N processes of PROGRAM
the way torchrun does (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, LOCAL_RANK
in the environment; a free TCP port on 127.0.0.1), waits for all of them and
exits with the first nonzero status (1 for a signal). With --start K only
ranks 0 to K - 1 are started: the others never join."""

import os
import socket
import subprocess
import sys

n = int(sys.argv[1])
args = sys.argv[2:]
start = n
if args[0] == "--start":
    start, args = int(args[1]), args[2:]
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
procs = []
for rank in range(start):
    env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(n),
               LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
               MASTER_PORT=str(port))
    procs.append(subprocess.Popen(args, env=env))
status = 0
for p in procs:
    code = p.wait()
    if code != 0 and status == 0:
        status = code if code > 0 else 1
sys.exit(status)
