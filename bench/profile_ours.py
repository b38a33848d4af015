"""Profiles OUR connector on scenario 1 (full refresh of the events stream of one project), or on
scenario 2 with --stream issues.

    python bench/profile_ours.py [--stream events|issues] [--records 20000] [--top 15] [--rate 200]

Uses py-spy (installed with pip into bench/.venvs/tools on first use) sampling every thread of the
`source-sentry read` process; falls back to cProfile (main thread only: the CDK reads partitions in
worker threads, so cProfile under-reports them). Prints the top functions by cumulative and by
self share of the non-idle samples.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from harness import TOKEN, Ours, main_python  # noqa: E402
from run import Bench  # noqa: E402
from tls import TLSSentryEmulator, make_certificates  # noqa: E402

TOOLS = BENCH / ".venvs" / "tools"


def py_spy() -> Path | None:
    exe = TOOLS / "bin" / "py-spy"
    if not exe.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
            subprocess.run([str(TOOLS / "bin" / "python"), "-m", "pip", "install", "-q", "py-spy"], check=True)
        except subprocess.CalledProcessError:
            return None
    return exe if exe.exists() else None


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _short(frame: str) -> str:
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m.group("file")
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{m.group('func')} ({path})"


# Generic frames every sample of a worker thread carries: left out of the cumulative list.
_WRAPPERS = ("(threading.py)", "(concurrent/futures/thread.py)", "(runpy.py)", "<module> (")


def report_collapsed(path: Path, top: int, mode: str) -> str:
    cumulative: Counter = Counter()
    own: Counter = Counter()
    callers: dict = {}
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";") if f]
        total += n
        for name in set(frames):
            cumulative[name] += n
        if frames:
            own[frames[-1]] += n
            # the nearest frame of the CDK or of the connector: where the time is spent from
            origin = next((f for f in reversed(frames[:-1]) if "airbyte_cdk/" in f or "source_sentry/" in f), "?")
            callers.setdefault(frames[-1], Counter())[origin] += n
    total = max(total, 1)
    interesting = [(name, n) for name, n in cumulative.most_common() if not any(w in name for w in _WRAPPERS)]
    lines = [f"py-spy ({mode}): {total} samples", "", f"top {top} by cumulative share (thread/executor wrappers left out):"]
    lines += [f"{100 * n / total:6.1f}%  {name}" for name, n in interesting[:top]]
    lines += ["", f"top {top} by self share (<- nearest CDK/connector frame above it, most frequent):"]
    for name, n in own.most_common(top):
        parent, pn = callers[name].most_common(1)[0]
        lines.append(f"{100 * n / total:6.1f}%  {name}   <- {parent} ({100 * pn / n:.0f}%)")
    return "\n".join(lines)


def report_cprofile(path: Path, top: int) -> str:
    import io
    import pstats

    stream = io.StringIO()
    stats = pstats.Stats(str(path), stream=stream)
    total = max(stats.total_tt, 1e-9)
    rows = []
    for (file, line, func), (cc, nc, tt, ct, callers) in stats.stats.items():
        rows.append((ct, tt, f"{func} ({file.split('site-packages/')[-1]}:{line})"))
    lines = [f"cProfile (main thread only), total {total:.2f}s", "", f"top {top} by cumulative share:"]
    lines += [f"{100 * ct / total:6.1f}%  {name}" for ct, _, name in sorted(rows, reverse=True)[:top]]
    lines += ["", f"top {top} by self share:"]
    lines += [f"{100 * tt / total:6.1f}%  {name}" for _, tt, name in sorted(rows, key=lambda r: -r[1])[:top]]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stream", choices=["events", "issues"], default="events")
    parser.add_argument("--records", type=int, default=0, help="records of that stream (default 20,000 events, 5,000 issues)")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--cprofile", action="store_true", help="use cProfile even if py-spy is available")
    parser.add_argument("--all-threads", action="store_true",
                        help="sample every non-idle thread (includes time blocked in SSL reads) instead of --gil")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="sentry-profile-"))
    ca, cert, key = make_certificates(workdir / "tls")
    records = args.records or (20_000 if args.stream == "events" else 5_000)
    ds = Bench.dataset(1, records, 10, 10) if args.stream == "events" else Bench.dataset(1, 10, records, 10)
    slug = ds.projects[0]["slug"]
    ours = Ours(workdir, ca)
    env = {**__import__("os").environ, **ours.env}
    with TLSSentryEmulator(ds, token=TOKEN, certfile=cert, keyfile=key) as emulator:
        command = ours.read_command(emulator, "acme", [slug], [args.stream], tag="-profile")
        spy = None if args.cprofile else py_spy()
        if spy is not None:
            out = workdir / "profile.txt"
            mode = [] if args.all_threads else ["--gil"]
            subprocess.run([str(spy), "record", "--format", "raw", "--rate", str(args.rate), *mode, "-o", str(out), "--"]
                           + command, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            text = report_collapsed(out, args.top, "all non-idle threads" if args.all_threads else
                                    "--gil: only the thread holding the GIL, i.e. Python CPU time")
        else:
            out = workdir / "profile.pstats"
            args_after = command[1:]  # drop the console script: run the module under cProfile
            subprocess.run([main_python(), "-m", "cProfile", "-o", str(out), "-m", "source_sentry.run"] + args_after,
                           env=env, cwd=workdir, stdout=subprocess.DEVNULL, check=True)
            text = report_cprofile(out, args.top)
        print(f"requests served: {len(emulator.requests)}")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
