"""Runs a command and writes its rusage as JSON: python -I -S launcher.py OUT.json CMD [ARGS...].

Why a launcher: on Linux a child's ru_maxrss includes the high-water RSS of the process it was
forked from (the kernel carries it across exec), so a child spawned straight from the benchmark
(which holds the emulator's dataset) would report the benchmark's RSS. Spawned from this small
process, the measured command's peak RSS is its own (floor: this launcher's ~10 MB).
"""
import json
import os
import sys
import time

out_path, command = sys.argv[1], sys.argv[2:]
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(command[0], command)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
code = os.waitstatus_to_exitcode(status)
with open(out_path, "w") as f:
    json.dump({"wall": wall, "utime": usage.ru_utime, "stime": usage.ru_stime,
               "maxrss_kb": usage.ru_maxrss, "exit": code}, f)
sys.exit(code if code >= 0 else 128 - code)
