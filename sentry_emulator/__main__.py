"""Serve a generated dataset as a local Sentry API: ``python -m sentry_emulator [--port 8000] ...``."""
from __future__ import annotations

import argparse
import inspect
import sys
import time
from typing import Any, Dict, List, Optional


def _parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sentry_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--token", default="emulator-token", help="the only accepted Bearer token")
    parser.add_argument("--path-prefix", default="", help="serve the API under this prefix, e.g. /sentry")
    parser.add_argument("--page-size", type=int, default=100, help="default page size of list endpoints")
    parser.add_argument("--scopes", default=None, help="comma-separated token scopes (default: all)")
    parser.add_argument("--organization", default=None, help="organization slug")
    parser.add_argument("--projects", type=int, default=None)
    parser.add_argument("--events-per-project", type=int, default=None)
    parser.add_argument("--issues-per-project", type=int, default=None)
    parser.add_argument("--releases", type=int, default=None)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds every request sleeps before answering")
    parser.add_argument("--sentry-version", default=None,
                        help="answer like this self-hosted Sentry version where it differs, e.g. 21.5.0 (default: current)")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = _parse_args(argv)
    from .dataset import build_dataset  # lazy: the generator is only needed when serving from the CLI
    from .server import SentryEmulator

    wanted: Dict[str, Any] = {
        "organization": args.organization,
        "projects": args.projects,
        "events_per_project": args.events_per_project,
        "issues_per_project": args.issues_per_project,
        "releases": args.releases,
        "seed": args.seed,
    }
    accepted = inspect.signature(build_dataset).parameters
    takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    kwargs = {k: v for k, v in wanted.items() if v is not None and (takes_kwargs or k in accepted)}
    ignored = [k for k, v in wanted.items() if v is not None and k not in kwargs]
    if ignored:
        print(f"note: build_dataset() does not take {', '.join(ignored)}; ignored", file=sys.stderr)
    dataset = build_dataset(**kwargs)

    scopes = [s.strip() for s in args.scopes.split(",") if s.strip()] if args.scopes else None
    emulator = SentryEmulator(
        dataset,
        token=args.token,
        scopes=scopes,
        host=args.host,
        port=args.port,
        path_prefix=args.path_prefix,
        default_page_size=args.page_size,
        sentry_version=args.sentry_version,
    )
    if args.latency > 0:
        emulator.faults.add(".*", "latency", delay=args.latency)
    with emulator:
        org = dataset.organization.get("slug")
        print(f"Sentry emulator serving organization {org!r} at {emulator.url}", flush=True)
        print(f"  API root: {emulator.url}/api/0/   token: {args.token}", flush=True)
        print("  Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
