"""Runs one implementation as a fresh subprocess and measures it (wall, CPU, peak RSS, requests)."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

try:
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover
    _loads = json.loads

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OFFICIAL_VENV = BENCH / ".venvs" / "official"
OFFICIAL_PACKAGE = "airbyte-source-sentry==0.6.11"
TOKEN = "bench-token"


def main_python() -> str:
    venv_python = REPO / ".venv" / "bin" / "python"
    return str(venv_python) if venv_python.exists() else sys.executable


def ours_command() -> List[str]:
    script = Path(main_python()).parent / "source-sentry"
    return [str(script)] if script.exists() else [main_python(), "-m", "source_sentry.run"]


def official_python() -> Path:
    return OFFICIAL_VENV / "bin" / "python"


def official_ready() -> bool:
    return (OFFICIAL_VENV / "bin" / "source-sentry").exists()


def install_official(log=print) -> bool:
    """Creates bench/.venvs/official with the official connector from PyPI (needs Python 3.10/3.11)."""
    if official_ready():
        return True
    candidates = [sys.executable, main_python(), shutil.which("python3.11"), shutil.which("python3.10"),
                  os.path.expanduser("~/.pyenv/versions/3.11.7/bin/python")]
    python = None
    for candidate in candidates:
        if not candidate or not os.path.exists(candidate):
            continue
        out = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] in ((3, 10), (3, 11)))"],
                             capture_output=True, text=True)
        if out.stdout.strip() == "True":
            python = candidate
            break
    if python is None:
        log("official connector: no Python 3.10/3.11 found (it requires >=3.10,<3.12); skipping it")
        return False
    log(f"installing {OFFICIAL_PACKAGE} into {OFFICIAL_VENV} (first use) ...")
    OFFICIAL_VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([python, "-m", "venv", str(OFFICIAL_VENV)], check=True)
    result = subprocess.run([str(official_python()), "-m", "pip", "install", "-q", OFFICIAL_PACKAGE],
                            capture_output=True, text=True)
    if result.returncode != 0 or not official_ready():
        log("official connector: pip install failed:\n" + result.stderr[-2000:])
        return False
    return True


# ------------------------------------------------------------------------------------------------
# Endpoint classification of the emulator's request log
# ------------------------------------------------------------------------------------------------
_ENDPOINTS = [
    ("events", re.compile(r"/projects/[^/]+/[^/]+/events/$")),
    ("org_events", re.compile(r"/organizations/[^/]+/events/$")),
    ("issues", re.compile(r"/issues/$")),
    ("releases", re.compile(r"/releases/$")),
    ("org_projects", re.compile(r"/organizations/[^/]+/projects/$")),
    ("project_detail", re.compile(r"/projects/[^/]+/[^/]+/$")),
]


def endpoint_of(path: str) -> str:
    for name, pattern in _ENDPOINTS:
        if pattern.search(path):
            return name
    return path


@dataclass
class RunResult:
    impl: str
    wall: float = 0.0
    cpu: float = 0.0
    rss_mb: float = 0.0
    returncode: int = 0
    records: int = 0
    by_stream: Dict[str, int] = field(default_factory=dict)
    unique: Dict[str, int] = field(default_factory=dict)
    states: Dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    r429: int = 0
    ok_by_endpoint: Dict[str, int] = field(default_factory=dict)  # non-429 answers per endpoint
    r429_by_endpoint: Dict[str, int] = field(default_factory=dict)
    errors: List[str] = field(default_factory=list)
    first_request_at: Optional[float] = None
    last_request_at: Optional[float] = None

    def merge(self, other: "RunResult") -> "RunResult":
        """Sequential runs as one (the official connector syncs one project per connection)."""
        out = RunResult(self.impl)
        out.wall, out.cpu = self.wall + other.wall, self.cpu + other.cpu
        out.rss_mb = max(self.rss_mb, other.rss_mb)
        out.returncode = self.returncode or other.returncode
        out.records = self.records + other.records
        for attr in ("by_stream", "unique", "ok_by_endpoint"):
            merged = Counter(getattr(self, attr))
            merged.update(getattr(other, attr))
            setattr(out, attr, dict(merged))
        out.requests, out.r429 = self.requests + other.requests, self.r429 + other.r429
        out.errors = self.errors + other.errors
        out.states = {**self.states, **other.states}
        return out


def _parse_output(path: Path, result: RunResult, keep_states: bool) -> None:
    ids: Dict[str, set] = {}
    counts: Counter = Counter()
    with open(path, "rb") as f:
        for line in f:
            if not line.startswith(b"{"):
                continue
            if line.startswith(b'{"type":"RECORD"') or line.startswith(b'{"type": "RECORD"'):
                record = _loads(line)["record"]
                stream = record["stream"]
                counts[stream] += 1
                ids.setdefault(stream, set()).add(str(record["data"].get("id")))
                continue
            try:
                message = _loads(line)
            except ValueError:
                continue
            kind = message.get("type")
            if kind == "STATE" and keep_states:
                state = message["state"]
                if state.get("type", "STREAM") == "STREAM" and "stream" in state:
                    stream = state["stream"]
                    result.states[stream["stream_descriptor"]["name"]] = {
                        "type": "STREAM",
                        "stream": {"stream_descriptor": stream["stream_descriptor"], "stream_state": stream.get("stream_state")},
                    }
            elif kind == "TRACE" and message.get("trace", {}).get("type") == "ERROR":
                result.errors.append("TRACE ERROR: " + str(message["trace"].get("error", {}).get("message"))[:300])
            elif kind == "LOG" and message.get("log", {}).get("level") in ("ERROR", "FATAL"):
                result.errors.append("LOG ERROR: " + str(message["log"].get("message"))[:300])
            elif kind == "CONNECTION_STATUS" and message["connectionStatus"].get("status") != "SUCCEEDED":
                result.errors.append("CHECK FAILED: " + str(message["connectionStatus"].get("message"))[:300])
    result.by_stream = dict(counts)
    result.unique = {stream: len(values) for stream, values in ids.items()}
    result.records = sum(counts.values())


_STARTUP_FAILURES = ("ModuleNotFoundError", "No such file or directory", "can't open file")


def run_measured(impl: str, command: Sequence[str], *, emulator: Any = None, env: Optional[Dict[str, str]] = None,
                 cwd: Path, timeout: float = 1800.0, keep_states: bool = False, attempts: int = 3) -> RunResult:
    """Runs ``command`` in a fresh process; stdout goes to a file that is parsed after the run.

    A process that cannot even start (its script or package missing: another engineer reinstalling
    the package in the shared venv) is retried a few seconds later instead of being measured."""
    for attempt in range(attempts):
        result = _run_once(impl, command, emulator=emulator, env=env, cwd=cwd, timeout=timeout, keep_states=keep_states)
        startup_failure = result.returncode != 0 and result.requests == 0 and result.records == 0 and any(
            marker in error for error in result.errors for marker in _STARTUP_FAILURES) or result.returncode == 127
        if not startup_failure or attempt == attempts - 1:
            return result
        print(f"[bench] {impl} could not start ({result.errors[-1][:200]}); retrying in 5 s", file=sys.stderr, flush=True)
        time.sleep(5)
    return result


def _run_once(impl: str, command: Sequence[str], *, emulator: Any, env: Optional[Dict[str, str]], cwd: Path,
              timeout: float, keep_states: bool) -> RunResult:
    out_path, err_path = cwd / f"{impl}.stdout", cwd / f"{impl}.stderr"
    if emulator is not None:
        emulator.clear_log()
    result = RunResult(impl)
    usage_path = cwd / f"{impl}.rusage.json"
    usage_path.unlink(missing_ok=True)
    launcher = [sys.executable, "-I", "-S", str(BENCH / "launcher.py"), str(usage_path)]
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(launcher + list(command), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=str(cwd), env={**os.environ, **(env or {})}, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    try:
        usage = json.loads(usage_path.read_text())
    except (OSError, ValueError):
        usage = {"wall": timeout, "utime": 0.0, "stime": 0.0, "maxrss_kb": 0, "exit": proc.returncode}
        result.errors.append(f"killed after {timeout:.0f}s" if proc.returncode and proc.returncode < 0 else "no rusage")
    result.wall = usage["wall"]
    result.returncode = usage["exit"]
    result.cpu = usage["utime"] + usage["stime"]
    result.rss_mb = usage["maxrss_kb"] / 1024.0  # KiB on Linux
    if emulator is not None:
        log = emulator.requests
        result.requests = len(log)
        result.r429 = sum(1 for r in log if r.status == 429)
        result.ok_by_endpoint = dict(Counter(endpoint_of(r.path) for r in log if r.status != 429))
        result.r429_by_endpoint = dict(Counter(endpoint_of(r.path) for r in log if r.status == 429))
        if log:
            result.first_request_at, result.last_request_at = log[0].time, log[-1].time
        bad = Counter((endpoint_of(r.path), r.status) for r in log if r.status >= 400 and r.status != 429)
        for (endpoint, status), n in bad.items():
            result.errors.append(f"emulator answered {status} x{n} on {endpoint}")
    _parse_output(out_path, result, keep_states)
    if result.returncode != 0:
        tail = err_path.read_bytes()[-600:].decode("utf-8", "replace").strip() if err_path.exists() else ""
        result.errors.append(f"exit code {result.returncode}" + (f"; stderr: {tail}" if tail else ""))
    out_path.unlink(missing_ok=True)
    return result


def run_plain(command: Sequence[str], *, cwd: Path, env: Optional[Dict[str, str]] = None) -> str:
    """Unmeasured helper run (discover); returns stdout."""
    proc = subprocess.run(list(command), capture_output=True, cwd=str(cwd), env={**os.environ, **(env or {})}, timeout=300)
    return proc.stdout.decode("utf-8", "replace")


# ------------------------------------------------------------------------------------------------
# Implementations: how each is configured and launched
# ------------------------------------------------------------------------------------------------
class Implementation:
    name = ""

    def __init__(self, workdir: Path, ca_bundle: Path) -> None:
        self.workdir = workdir
        self.env = {"REQUESTS_CA_BUNDLE": str(ca_bundle)}
        self._catalogs: Dict[str, Dict[str, Any]] = {}

    # subclasses
    def base(self) -> List[str]:
        raise NotImplementedError

    def config(self, emulator: Any, org: str, projects: Optional[List[str]]) -> Dict[str, Any]:
        raise NotImplementedError

    def write(self, name: str, payload: Any) -> Path:
        path = self.workdir / f"{self.name}-{name}.json"
        path.write_text(json.dumps(payload))
        return path

    def discovered(self, config_path: Path) -> Dict[str, Any]:
        """The streams `discover` lists for this config, run once per implementation and config: configs
        that differ only in the emulator's address or the projects selected list the same streams
        (neither connector's discover sends a request), so they share one (unmeasured) discover run."""
        config = json.loads(config_path.read_text())
        key = json.dumps({k: v for k, v in config.items() if k not in ("hostname", "projects", "project")}, sort_keys=True)
        if key not in self._catalogs:
            streams = {}
            for line in run_plain(self.base() + ["discover", "--config", str(config_path)], cwd=self.workdir, env=self.env).splitlines():
                if line.startswith("{") and '"CATALOG"' in line[:40]:
                    for stream in json.loads(line)["catalog"]["streams"]:
                        streams[stream["name"]] = stream
            self._catalogs[key] = streams
        return self._catalogs[key]

    def catalog(self, config_path: Path, streams: Sequence[str], incremental: bool) -> Dict[str, Any]:
        discovered = self.discovered(config_path)
        configured = []
        for name in streams:
            stream = discovered[name]
            use_incremental = incremental and "incremental" in stream["supported_sync_modes"]
            configured.append({
                "stream": stream,
                "sync_mode": "incremental" if use_incremental else "full_refresh",
                "destination_sync_mode": "append" if use_incremental else "overwrite",
                "cursor_field": stream.get("default_cursor_field") or [],
                "primary_key": stream.get("source_defined_primary_key") or [["id"]],
            })
        return {"streams": configured}

    def read_command(self, emulator: Any, org: str, projects: Optional[List[str]], streams: Sequence[str],
                     incremental: bool = False, state: Optional[List[Any]] = None, tag: str = "") -> List[str]:
        config_path = self.write(f"config{tag}", self.config(emulator, org, projects))
        catalog_path = self.write(f"catalog{tag}", self.catalog(config_path, streams, incremental))
        command = self.base() + ["read", "--config", str(config_path), "--catalog", str(catalog_path)]
        if state is not None:
            command += ["--state", str(self.write(f"state{tag}", state))]
        return command

    def check_command(self, emulator: Any, org: str, projects: Optional[List[str]]) -> List[str]:
        return self.base() + ["check", "--config", str(self.write("config-check", self.config(emulator, org, projects)))]

    def spec_command(self) -> List[str]:
        return self.base() + ["spec"]


class Ours(Implementation):
    name = "ours"

    def base(self) -> List[str]:
        return ours_command()

    def config(self, emulator: Any, org: str, projects: Optional[List[str]]) -> Dict[str, Any]:
        config: Dict[str, Any] = {"auth_token": TOKEN, "organization": org, "hostname": emulator.url}
        if projects:
            config["projects"] = list(projects)
        return config


class Official(Implementation):
    """airbyte-source-sentry 0.6.11 (airbyte-cdk 6): https only, one project per connection."""

    name = "official"

    def base(self) -> List[str]:
        return [str(official_python()), str(BENCH / "official_shim.py")]

    def config(self, emulator: Any, org: str, projects: Optional[List[str]]) -> Dict[str, Any]:
        assert projects and len(projects) == 1, "the official connector syncs exactly one project"
        # It builds https://{hostname}/api/0/: host and port without a scheme.
        return {"auth_token": TOKEN, "organization": org, "project": projects[0],
                "hostname": f"{emulator.host}:{emulator.port}"}


class Bare(Implementation):
    name = "bare"

    def base(self) -> List[str]:
        return [main_python(), str(BENCH / "bare_loop.py")]

    def config(self, emulator: Any, org: str, projects: Optional[List[str]]) -> Dict[str, Any]:
        return {"base_url": emulator.url, "auth_token": TOKEN, "organization": org, "projects": projects}

    def read_command(self, emulator: Any, org: str, projects: Optional[List[str]], streams: Sequence[str],
                     incremental: bool = False, state: Optional[List[Any]] = None, tag: str = "") -> List[str]:
        config = {**self.config(emulator, org, projects), "streams": list(streams), "incremental": incremental}
        command = self.base() + ["read", "--config", str(self.write(f"config{tag}", config))]
        if state is not None:
            command += ["--state", str(self.write(f"state{tag}", state))]
        return command
