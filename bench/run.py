"""Benchmark: our connector vs the official airbyte-source-sentry 0.6.11 vs a bare requests loop.

    python bench/run.py [--quick] [--runs N] [--no-official] [--only 1,2,...] [--json PATH] [--ours-from DIR]

Every run is a fresh subprocess against a local Sentry emulator served over https (the official
connector only speaks https); see bench/README.md for what each scenario measures.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
for _p in (str(REPO), str(BENCH)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from harness import TOKEN, Bare, Implementation, Official, Ours, RunResult, install_official, main_python, official_ready, run_measured  # noqa: E402
from tls import TLSSentryEmulator, make_certificates  # noqa: E402

from sentry_emulator.dataset import Dataset, build_dataset  # noqa: E402
from sentry_emulator.server import RateLimitRule  # noqa: E402

ORG = "acme"
SIZES = {
    "full": dict(events=20_000, issues=5_000, incr=(2_000, 1_000, 500), org=(3, 500, 300, 200), memory=100_000,
                 no_change=(5, 50, 500), large_org=200, huge=(20_000, 2_000)),
    "quick": dict(events=300, issues=250, incr=(150, 120, 150), org=(2, 150, 120, 60), memory=0,
                  no_change=(3, 12), large_org=8, huge=(900, 150)),
}
# Scenario 8: sentry.io's own per-endpoint limits (the endpoints' rate_limits in Sentry's code: project
# events 60/60 s one at a time, organization events 30/s 15 at once; issues and releases as in scenario 5).
LIMITS_SENTRY = [("events", r"/projects/[^/]+/[^/]+/events/$", 60, 60.0, 1),
                 ("issues", r"/issues/$", 5, 1.0, 25),
                 ("releases", r"/releases/$", 40, 1.0, 25),
                 ("org_events", r"/organizations/[^/]+/events/$", 30, 1.0, 15)]
LIMITS_SENTRY_QUICK = [("events", r"/projects/[^/]+/[^/]+/events/$", 6, 1.0, 1)] + LIMITS_SENTRY[1:]
LATENCY = 0.05
# (name, path regex, limit, window seconds, concurrent limit): Sentry's per-endpoint limits scaled down.
LIMITS_FULL = [("events", r"/projects/[^/]+/[^/]+/events/$", 6, 6.0, 1),
               ("issues", r"/issues/$", 5, 1.0, 25),
               ("releases", r"/releases/$", 40, 1.0, 25)]
LIMITS_QUICK = [("events", r"/projects/[^/]+/[^/]+/events/$", 6, 1.0, 1),
                ("issues", r"/issues/$", 5, 1.0, 25),
                ("releases", r"/releases/$", 40, 1.0, 25)]


def connector_version() -> str:
    """git HEAD plus a digest of the connector's files as they are on disk (uncommitted edits included)."""
    import hashlib
    import subprocess

    digest = hashlib.sha256()
    for path in sorted((REPO / "source_sentry").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "source_sentry"], cwd=REPO, capture_output=True,
                           text=True).stdout.strip()
    return f"HEAD {head or '?'}{' + uncommitted source_sentry/ edits' if dirty else ''}, source_sentry/ sha256 {digest.hexdigest()[:12]}"


def size(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class Row:
    scenario: str
    impl: str
    runs: List[RunResult]
    expected: Dict[str, int] = field(default_factory=dict)
    extra: Dict[str, Any] = field(default_factory=dict)
    throughput: bool = True  # False: records/s and CPU per 1k records are meaningless (spec, check, no-new-data syncs)

    def median(self, attr: str) -> float:
        return statistics.median(getattr(run, attr) for run in self.runs)

    @property
    def records(self) -> int:
        return int(self.median("records"))

    def problems(self) -> List[str]:
        out: List[str] = []
        for index, run in enumerate(self.runs, start=1):
            prefix = f"run {index}: " if len(self.runs) > 1 else ""
            if self.expected:
                for stream in sorted(set(self.expected) | set(run.by_stream)):
                    want, got = self.expected.get(stream), run.by_stream.get(stream, 0)
                    if want is not None and got != want:
                        out.append(f"{prefix}{stream}: {got} records, dataset has {want}")
            for stream, n in run.by_stream.items():
                dupes = n - run.unique.get(stream, n)
                if dupes:
                    out.append(f"{prefix}{stream}: {dupes} duplicate ids")
            out.extend(prefix + e for e in dict.fromkeys(run.errors))
        return list(dict.fromkeys(out))


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.quick = args.quick
        self.sizes = SIZES["quick" if args.quick else "full"]
        self.runs = args.runs if args.runs else (1 if args.quick else 3)
        self.workdir = Path(tempfile.mkdtemp(prefix="sentry-bench-"))
        self.ca, self.cert, self.key = make_certificates(self.workdir / "tls")
        self.rows: List[Row] = []
        self.notes: List[str] = []
        self.impls: List[Implementation] = [Ours(self.workdir, self.ca)]
        if args.ours_from:  # another checkout's source_sentry/ (e.g. main, for a before/after), same venv
            self.impls[0].env["PYTHONPATH"] = str(Path(args.ours_from).resolve())
        use_official = not args.no_official
        if use_official and not official_ready():
            if self.quick:
                log("quick mode: official connector venv missing, skipping it")
                use_official = False
            else:
                use_official = install_official(log)
        if use_official:
            self.impls.append(Official(self.workdir, self.ca))
        else:
            self.notes.append("official connector not run (venv missing or --no-official)")
        self.impls.append(Bare(self.workdir, self.ca))
        self.version_start = self.version_end = connector_version()

    # -------------------------------------------------------------------------------- helpers
    def emulator(self, dataset: Dataset) -> TLSSentryEmulator:
        return TLSSentryEmulator(dataset, token=TOKEN, certfile=self.cert, keyfile=self.key).start()

    def measure(self, impl: Implementation, command: List[str], emulator: Any, keep_states: bool = False) -> RunResult:
        result = run_measured(impl.name, command, emulator=emulator, env=impl.env, cwd=self.workdir, keep_states=keep_states)
        log(f"  {impl.name:8s} {result.records:7d} records {result.wall:7.2f}s wall {result.cpu:6.2f}s cpu "
            f"{result.rss_mb:6.0f}MB {result.requests:5d} req {result.r429:3d}x429" + (" ERRORS" if result.errors else ""))
        return result

    def repeat(self, scenario: str, make: Callable[[Implementation], Optional[RunResult]],
               expected: Callable[[Implementation], Dict[str, int]], runs: Optional[int] = None,
               throughput: bool = True) -> None:
        per_impl: Dict[str, List[RunResult]] = {impl.name: [] for impl in self.impls}
        for _ in range(runs or self.runs):
            for impl in self.impls:  # interleaved, so drift hits every implementation alike
                result = make(impl)
                if result is not None:
                    per_impl[impl.name].append(result)
        for impl in self.impls:
            if per_impl[impl.name]:
                self.rows.append(Row(scenario, impl.name, per_impl[impl.name], expected(impl), throughput=throughput))

    @staticmethod
    def dataset(projects: int, events: int, issues: int, releases: int, explore: bool = True) -> Dataset:
        """explore=False: no Explore rows (transactions, spans, logs), which most of a many-project
        build's time goes to and the scenarios below never read (500 projects: 0.4 CPU-s, not 6)."""
        now = datetime.now(timezone.utc).replace(microsecond=0)
        light = {} if explore else dict(transactions_per_project=0, logs_per_project=0)
        return build_dataset(organization=ORG, projects=projects, events_per_project=events,
                             issues_per_project=issues, releases=releases, seed=7, now=now, **light)

    @staticmethod
    def truth(ds: Dataset, streams: Sequence[str], slugs: Sequence[str], open_releases_only: bool = False) -> Dict[str, int]:
        counts = {
            "projects": len(slugs), "project_detail": len(slugs),
            "events": sum(len(ds.events.get(s, [])) for s in slugs),
            "issues": sum(len(ds.issues.get(s, [])) for s in slugs),
            "releases": sum(1 for r in ds.releases if not open_releases_only or r.get("_status", "open") == "open"),
        }
        return {s: counts[s] for s in streams}

    # -------------------------------------------------------------------------------- scenarios
    def scenario_full_refresh(self, ds: Dataset, emulator: Any, label: str, stream: str) -> None:
        slug = ds.projects[0]["slug"]
        log(f"scenario {label}")
        commands = {impl.name: impl.read_command(emulator, ORG, [slug], [stream], tag=f"-{stream}") for impl in self.impls}
        self.repeat(label, lambda impl: self.measure(impl, commands[impl.name], emulator),
                    lambda impl: self.truth(ds, [stream], [slug]))

    def scenario_startup(self, ds: Dataset, emulator: Any) -> None:
        slug = ds.projects[0]["slug"]
        log("scenario 3 spec / check")
        self.repeat("3 spec", lambda impl: self.measure(impl, impl.spec_command(), None), lambda impl: {}, throughput=False)
        commands = {impl.name: impl.check_command(emulator, ORG, [slug]) for impl in self.impls}
        self.repeat("3 check", lambda impl: self.measure(impl, commands[impl.name], emulator), lambda impl: {},
                    throughput=False)

    def scenario_incremental(self, ds: Dataset, emulator: Any) -> None:
        slug = ds.projects[0]["slug"]
        streams = ["events", "issues", "releases"]
        log("scenario 4 incremental: first sync (once per implementation), then the measured second syncs")
        second: Dict[str, List[str]] = {}
        for impl in self.impls:
            first = self.measure(impl, impl.read_command(emulator, ORG, [slug], streams, incremental=True, tag="-incr1"),
                                 emulator, keep_states=True)
            expected = self.truth(ds, streams, [slug], open_releases_only=False)
            first_row = Row("4 incr 1st", impl.name, [first], expected)
            self.notes.append(
                f"4 first sync {impl.name}: {first.records} records {dict(sorted(first.by_stream.items()))}, "
                f"{first.requests} requests {dict(sorted(first.ok_by_endpoint.items()))}, wall {first.wall:.1f}s"
                + ("; problems: " + "; ".join(first_row.problems()) if first_row.problems() else "")
            )
            missing = [s for s in streams if s not in first.states]
            if missing:
                self.notes.append(f"4 {impl.name}: no STATE message for {missing} after the first sync")
            state = [first.states[s] for s in streams if s in first.states]
            self.notes.append(f"4 {impl.name} state after the first sync: " + json.dumps(
                {m['stream']['stream_descriptor']['name']: m['stream']['stream_state'] for m in state})[:600])
            second[impl.name] = impl.read_command(emulator, ORG, [slug], streams, incremental=True, state=state, tag="-incr2")
        # No new data: whatever the second sync emits is re-emitted (reported in the notes, not a mismatch).
        self.repeat("4 incr 2nd", lambda impl: self.measure(impl, second[impl.name], emulator), lambda impl: {},
                    throughput=False)
        for row in self.rows:
            if row.scenario == "4 incr 2nd":
                run = row.runs[-1]
                self.notes.append(f"4 second sync {row.impl}: requests per endpoint {dict(sorted(run.ok_by_endpoint.items()))}, "
                                  f"records re-emitted {dict(sorted(run.by_stream.items()))}")

    def scenario_org(self, ds: Dataset, emulator: Any) -> None:
        limits = LIMITS_QUICK if self.quick else LIMITS_FULL
        emulator.rate_limits = [RateLimitRule(regex, limit, window, concurrent) for _, regex, limit, window, concurrent in limits]
        emulator.faults.add(r".", "latency", delay=LATENCY)
        slugs = [p["slug"] for p in ds.projects]
        log(f"scenario 5 whole org ({len(slugs)} projects) under rate limits + {int(LATENCY * 1000)} ms latency")
        all_streams = ["projects", "project_detail", "events", "issues", "releases"]
        official_streams = ["project_detail", "events", "issues", "releases"]  # its `projects` uses /api/0/projects/

        commands: Dict[str, List[List[str]]] = {}
        for impl in self.impls:
            if impl.name == "official":  # one connection per project, run one after the other
                commands[impl.name] = [impl.read_command(emulator, ORG, [s], official_streams, tag=f"-org-{s}") for s in slugs]
            else:
                commands[impl.name] = [impl.read_command(emulator, ORG, None, all_streams, tag="-org")]

        window = max(w for _, _, _, w, _ in limits)

        def make(impl: Implementation) -> RunResult:
            merged: Optional[RunResult] = None
            # Start at a fresh rate-limit window, like a sync after a quiet period. The official
            # connector's per-project syncs then run back to back (they share the caller's limits).
            for rule in emulator.rate_limits:
                rule._window_start, rule._count = -1.0, 0
            time.sleep(window - (time.time() % window))
            for command in commands[impl.name]:
                result = self.measure(impl, command, emulator)
                merged = result if merged is None else merged.merge(result)
            assert merged is not None
            return merged

        def expected(impl: Implementation) -> Dict[str, int]:
            if impl.name == "official":
                total: Dict[str, int] = {}
                for s in slugs:
                    for k, v in self.truth(ds, official_streams, [s]).items():
                        total[k] = total.get(k, 0) + v
                return total
            return self.truth(ds, all_streams, slugs)

        self.repeat("5 org+limits", make, expected)
        for row in self.rows:
            if row.scenario != "5 org+limits":
                continue
            own = self.bound(limits, {k: statistics.median(r.ok_by_endpoint.get(k, 0) for r in row.runs) for k, *_ in limits})
            row.extra["bound"] = own
            last = next((r for r in reversed(row.runs) if r.returncode == 0), row.runs[-1])
            self.notes.append(
                f"5 {row.impl}: median wall {row.median('wall'):.1f}s vs rate-limit bound {own['total']:.1f}s "
                f"from its own requests ({', '.join(f'{k} {v}' for k, v in own['detail'].items())}); "
                f"429s {row.median('r429'):.0f}; answered requests per endpoint (last good run) {dict(sorted(last.ok_by_endpoint.items()))}"
            )
        bare = next((r for r in self.rows if r.scenario == "5 org+limits" and r.impl == "bare"), None)
        if bare:
            ideal = self.bound(limits, {k: statistics.median(r.ok_by_endpoint.get(k, 0) for r in bare.runs)
                                        for k, *_ in limits})
            self.notes.append(f"5 bound from the bare loop's (minimal) request counts: {ideal['total']:.1f}s")

    @staticmethod
    def bound(limits: Sequence[tuple], requests: Dict[str, float]) -> Dict[str, Any]:
        """Rate-limit lower bound per endpoint: n requests need ceil(n/limit) windows, so at least
        (ceil(n/limit) - 1) * window seconds, and ceil(n/concurrent) * latency; endpoints are limited
        separately, so the sync's bound is the largest of them."""
        detail = {}
        for name, _, limit, window, concurrent in limits:
            n = int(requests.get(name, 0))
            if not n:
                continue
            seconds = max((math.ceil(n / limit) - 1) * window, math.ceil(n / concurrent) * LATENCY)
            detail[name] = f"{n} req -> {seconds:.1f}s"
            detail.setdefault("_max", 0.0)
            detail["_max"] = max(detail["_max"], seconds)
        total = detail.pop("_max", 0.0)
        return {"total": total, "detail": detail}

    def scenario_no_change(self, projects: int) -> None:
        """Scenario 7: incremental events + issues of a whole organization, a first sync, then the
        measured second syncs from its last STATE per stream with nothing new. Ours only: the
        official connector syncs one project per connection."""
        label = f"7 no change {projects}p"
        ds = self.dataset(projects, 4, 2, 5, explore=False)
        streams = ["events", "issues"]
        ours = self.impls[0]
        with self.emulator(ds) as emulator:
            log(f"scenario {label}: first sync")
            first = self.measure(ours, ours.read_command(emulator, ORG, None, streams, incremental=True, tag=f"-nc{projects}-1"),
                                 emulator, keep_states=True)
            problems = Row(label, ours.name, [first], self.truth(ds, streams, [p["slug"] for p in ds.projects])).problems()
            state = [first.states[s] for s in streams if s in first.states]
            second = ours.read_command(emulator, ORG, None, streams, incremental=True, state=state, tag=f"-nc{projects}-2")
            runs = [self.measure(ours, second, emulator) for _ in range(self.runs)]
        self.rows.append(Row(label, ours.name, runs, throughput=False))
        last = runs[-1]
        self.notes.append(f"{label}: first sync {first.requests} requests {dict(sorted(first.ok_by_endpoint.items()))}"
                          + (f" (problems: {'; '.join(problems)})" if problems else "")
                          + f"; second sync (nothing new) {last.requests} requests {dict(sorted(last.ok_by_endpoint.items()))}, "
                          f"records {dict(sorted(last.by_stream.items()))}, median wall {statistics.median(r.wall for r in runs):.2f}s")

    def scenario_large_org(self, projects: int) -> None:
        """Scenario 8: a first sync of every project stream of a large organization under sentry.io's
        per-endpoint limits with 50 ms latency: wall vs the bound the events limit sets, 429s. Ours only."""
        limits = LIMITS_SENTRY_QUICK if self.quick else LIMITS_SENTRY
        label = f"8 first sync {projects}p"
        ds = self.dataset(projects, 20, 10, 30, explore=False)
        streams = ["projects", "project_detail", "events", "issues", "releases"]
        ours = self.impls[0]
        with self.emulator(ds) as emulator:
            emulator.rate_limits = [RateLimitRule(regex, limit, window, concurrent) for _, regex, limit, window, concurrent in limits]
            emulator.faults.add(r".", "latency", delay=LATENCY)
            log(f"scenario {label} under sentry.io's limits + {int(LATENCY * 1000)} ms latency")
            command = ours.read_command(emulator, ORG, None, streams, incremental=True, tag=f"-large{projects}")
            window = max(w for _, _, _, w, _ in limits)
            time.sleep(window - (time.time() % window))  # start at a fresh window, like a sync after a quiet period
            run = self.measure(ours, command, emulator)
        row = Row(label, ours.name, [run], self.truth(ds, streams, [p["slug"] for p in ds.projects]))
        bound = self.bound(limits, run.ok_by_endpoint)
        row.extra["bound"] = bound
        self.rows.append(row)
        self.notes.append(f"{label}: wall {run.wall:.1f}s vs rate-limit bound {bound['total']:.1f}s "
                          f"({run.wall / bound['total']:.2f}x; {', '.join(f'{k} {v}' for k, v in bound['detail'].items())}); "
                          f"429s {run.r429} {dict(sorted(run.r429_by_endpoint.items()))}; "
                          f"requests per endpoint {dict(sorted(run.ok_by_endpoint.items()))}")

    def scenario_interrupted(self, events: int, part_size: int) -> None:
        """Scenario 9: a first sync of one huge project killed (SIGKILL) once half of its events are
        delivered, then rerun from its last STATE message. The CDK emits per-partition state at
        most every 600 s: here (both before and after) bench/../unit_tests/frequent_state.py emits
        it at every partition close, so a short run shows what a long one does. Ours only."""
        import os
        import signal
        import subprocess

        label = f"9 resume {size(events)}"
        ds = self.dataset(1, events, 10, 5, explore=False)
        slug = ds.projects[0]["slug"]
        ours = self.impls[0]
        every = {e["id"] for e in ds.events[slug]}
        with self.emulator(ds) as emulator:
            emulator.faults.add(r"/projects/[^/]+/[^/]+/events/$", "latency", delay=0.02)
            # one request at a time, as sentry.io's project events endpoint allows (not its 60 a minute)
            emulator.rate_limits = [RateLimitRule(r"/projects/[^/]+/[^/]+/events/$", 100_000, 60.0, 1)]
            config_path = ours.write(f"config-huge{events}", {**ours.config(emulator, ORG, None), "events_part_size": part_size})
            catalog_path = ours.write(f"catalog-huge{events}", ours.catalog(config_path, ["events"], True))
            wrapper = [main_python(), str(REPO / "unit_tests" / "frequent_state.py"), "read", "--config", str(config_path),
                       "--catalog", str(catalog_path)]
            log(f"scenario {label}: first sync, killed at half")
            emulator.clear_log()
            process = subprocess.Popen(wrapper, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                       env={**os.environ, **ours.env}, cwd=str(self.workdir))
            delivered, state = [], None
            for line in process.stdout:
                message = json.loads(line) if line.startswith("{") else {}
                if message.get("type") == "RECORD":
                    delivered.append(message["record"]["data"]["id"])
                elif message.get("type") == "STATE":
                    state = message["state"]
                if len(delivered) >= len(every) // 2:
                    process.send_signal(signal.SIGKILL)
                    break
            process.wait()
            first_requests = len(emulator.requests)
            state_path = ours.write(f"state-huge{events}", [state] if state else [])
            emulator.clear_log()
            started = time.time()
            rerun = subprocess.run(wrapper + ["--state", str(state_path)], capture_output=True, text=True,
                                   env={**os.environ, **ours.env}, cwd=str(self.workdir))
            wall = time.time() - started
            again = [json.loads(line)["record"]["data"]["id"] for line in rerun.stdout.splitlines()
                     if line.startswith('{"type":"RECORD"') or line.startswith('{"type": "RECORD"')]
            rerun_requests = len(emulator.requests)
        twice = len(set(delivered) & set(again))
        missing = len(every - set(delivered) - set(again))
        self.notes.append(f"{label} (parts of {part_size}): killed after {len(delivered)} of {len(every)} events "
                          f"({first_requests} requests); the rerun from the last STATE message read {len(again)} events in "
                          f"{rerun_requests} requests, {wall:.1f}s wall: {twice} read twice ({twice / len(delivered):.0%} of "
                          f"what was delivered), {missing} missing" + ("" if state else " (no STATE message before the kill)"))

    def scenario_memory(self, ds: Dataset, emulator: Any) -> None:
        self.scenario_full_refresh(ds, emulator, f"6 memory {size(self.sizes['memory'])}", "events")

    # -------------------------------------------------------------------------------- driver
    def run(self) -> None:
        only = set(self.args.only.split(",")) if self.args.only else None
        s = self.sizes

        def wanted(n: str) -> bool:
            if only is not None and n not in only:
                return False
            version = connector_version()  # the connector is edited by others while the benchmark runs
            if version != self.version_end:
                self.notes.append(f"connector changed before scenario {n}: now {version}")
                self.version_end = version
            return True

        # scenario 0 also runs with 1 and 2: their CPU per 1k records is measured above it
        if wanted("0") or wanted("1") or wanted("2"):
            empty = self.dataset(1, 0, 0, 1)
            with self.emulator(empty) as emulator:
                self.scenario_full_refresh(empty, emulator, "0 no records", "issues")
        if wanted("1") or wanted("2"):
            ds = self.dataset(1, s["events"], s["issues"], 20)
            with self.emulator(ds) as emulator:
                if wanted("1"):
                    self.scenario_full_refresh(ds, emulator, f"1 events {size(s['events'])}", "events")
                if wanted("2"):
                    self.scenario_full_refresh(ds, emulator, f"2 issues {size(s['issues'])}", "issues")
            del ds
            gc.collect()
        if wanted("3") or wanted("4"):
            ds = self.dataset(1, *s["incr"])
            with self.emulator(ds) as emulator:
                if wanted("3"):
                    self.scenario_startup(ds, emulator)
                if wanted("4"):
                    self.scenario_incremental(ds, emulator)
        if wanted("5"):
            ds = self.dataset(*s["org"])
            with self.emulator(ds) as emulator:
                self.scenario_org(ds, emulator)
        # 7-9 (ours only) run with --quick only when --only names them (the smoke test stays short)
        if wanted("7") and (not self.quick or only):
            for projects in s["no_change"]:
                self.scenario_no_change(projects)
        if wanted("8") and (not self.quick or only):
            self.scenario_large_org(s["large_org"])
        if wanted("9") and (not self.quick or only):
            self.scenario_interrupted(*s["huge"])
        if not self.quick and s["memory"] and wanted("6"):
            ds = self.dataset(1, s["memory"], 10, 10)
            with self.emulator(ds) as emulator:
                self.scenario_memory(ds, emulator)
            del ds
            gc.collect()

    # -------------------------------------------------------------------------------- report
    def table(self) -> str:
        header = ["scenario", "impl", "records", "rec/s", "CPU-s/1k", "requests", "429s", "wall s", "RSS MB",
                  "vs bare wall/CPU/RSS", "ours vs official wall/CPU/RSS"]
        lines: List[List[str]] = []
        by_key = {(r.scenario, r.impl): r for r in self.rows}

        def ratio(a: float, b: float) -> str:
            return f"{a / b:.2f}" if b else "-"

        for row in self.rows:
            records, wall, cpu, rss = row.records, row.median("wall"), row.median("cpu"), row.median("rss_mb")
            bare = by_key.get((row.scenario, "bare"))
            official = by_key.get((row.scenario, "official"))
            vs_bare = "-" if bare is None or row.impl == "bare" else "/".join(
                ratio(x, bare.median(a)) for x, a in ((wall, "wall"), (cpu, "cpu"), (rss, "rss_mb")))
            vs_off = "-" if official is None or row.impl != "ours" else "/".join(
                ratio(x, official.median(a)) for x, a in ((wall, "wall"), (cpu, "cpu"), (rss, "rss_mb")))
            lines.append([
                row.scenario, row.impl + (" !" if row.problems() else ""), str(records),
                f"{records / wall:,.0f}" if records and wall and row.throughput else "-",
                f"{cpu / records * 1000:.3f}" if records and row.throughput else "-",
                f"{row.median('requests'):.0f}", f"{row.median('r429'):.0f}", f"{wall:.2f}", f"{rss:.0f}", vs_bare, vs_off,
            ])
        widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(header)]
        fmt = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
        out = [fmt(header), fmt(["-" * w for w in widths])] + [fmt(l) for l in lines]
        return "\n".join(out)

    def marginal_notes(self) -> List[str]:
        """CPU per 1,000 records above each implementation's fixed cost (start-up, a read with no
        records: scenario 0), so that start-up and per-record costs can be told apart."""
        by_key = {(r.scenario, r.impl): r for r in self.rows}
        notes = []
        for row in self.rows:
            empty = by_key.get(("0 no records", row.impl))
            if empty is None or row.scenario[:1] not in ("1", "2", "6") or not row.records:
                continue
            marginal = (row.median("cpu") - empty.median("cpu")) / row.records * 1000
            bare_row, bare_empty = by_key.get((row.scenario, "bare")), by_key.get(("0 no records", "bare"))
            ratio = ""
            if row.impl != "bare" and bare_row and bare_empty and bare_row.records:
                bare_marginal = (bare_row.median("cpu") - bare_empty.median("cpu")) / bare_row.records * 1000
                ratio = f", {marginal / bare_marginal:.2f}x the bare loop's" if bare_marginal > 0 else ""
            notes.append(f"{row.scenario} {row.impl}: {empty.median('cpu'):.2f} CPU-s fixed (scenario 0) + "
                         f"{marginal:.3f} CPU-s per 1k records{ratio}")
        return notes

    def report(self) -> str:
        parts = [f"connector under test: {self.version_start}" + (
            "" if self.version_end == self.version_start else
            f"\nWARNING: the connector changed during the run (now {self.version_end}): rows mix versions"),
            f"source-sentry benchmark ({'quick' if self.quick else 'full'}, median of {self.runs} run(s); "
                 "medians per column; ratios = this row / other row, <1 is better)", self.table()]
        problems = [f"- {r.scenario} {r.impl}: {p}" for r in self.rows for p in r.problems()]
        if problems:
            parts += ["", "problems (rows marked !):"] + problems
        notes = self.notes + self.marginal_notes()
        if notes:
            parts += ["", "notes:"] + [f"- {n}" for n in notes]
        return "\n".join(parts)

    def as_json(self) -> Dict[str, Any]:
        return {
            "quick": self.quick, "runs": self.runs,
            "rows": [{"scenario": r.scenario, "impl": r.impl, "records": r.records, "expected": r.expected,
                      "wall": r.median("wall"), "cpu": r.median("cpu"), "rss_mb": r.median("rss_mb"),
                      "requests": r.median("requests"), "r429": r.median("r429"), "problems": r.problems(),
                      "extra": r.extra, "runs": [asdict(x) for x in r.runs]} for r in self.rows],
            "notes": self.notes, "connector": self.version_start, "connector_at_end": self.version_end,
        }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 1 run, no scenario 6, official only if installed")
    parser.add_argument("--runs", type=int, default=0, help="runs per measurement (median); default 3, 1 with --quick")
    parser.add_argument("--no-official", action="store_true", help="do not run (or install) the official connector")
    parser.add_argument("--ours-from", default="", help="run `ours` from this checkout's source_sentry/ (PYTHONPATH)")
    parser.add_argument("--only", default="", help="comma-separated scenario numbers, e.g. 1,4")
    parser.add_argument("--json", default=str(BENCH / "results" / "latest.json"), help="where to write raw results")
    args = parser.parse_args(argv)
    bench = Bench(args)
    started = time.time()
    bench.run()
    if connector_version() != bench.version_end:
        bench.notes.append(f"connector changed during the last scenario: now {connector_version()}")
        bench.version_end = connector_version()
    text = bench.report()
    print(text, flush=True)
    log(f"done in {time.time() - started:.0f}s")
    if args.json:
        path = Path(args.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(bench.as_json(), indent=1, default=str))
        path.with_suffix(".txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
