"""The baseline: a bare `requests` loop over the same endpoints, printing Airbyte-like RECORD lines.

    python bench/bare_loop.py spec
    python bench/bare_loop.py check --config config.json
    python bench/bare_loop.py read --config config.json [--state state.json]

config: {"base_url": "https://127.0.0.1:PORT", "auth_token": ..., "organization": ...,
         "projects": [slugs] or null (every project), "streams": [names], "incremental": bool}
Each stream runs in its own thread (Sentry limits each endpoint separately); within a stream the
pages are fetched one after another following the Link header's next cursor until
results="false". A response whose X-Sentry-Rate-Limit-Remaining is 0, or a 429, makes the loop
sleep until X-Sentry-Rate-Limit-Reset. Incremental: events ask for start=<state>, issues search
lastSeen:>=<state>, releases stop at the first release older than the state (newest first).
At the end one STATE line per stream carries the newest cursor value seen.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Optional

import requests

CURSORS = {"projects": "dateCreated", "events": "dateCreated", "issues": "lastSeen", "releases": "dateCreated"}
_out_lock = threading.Lock()
_write = sys.stdout.write


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _fmt(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _emit(stream: str, records: List[Dict[str, Any]]) -> None:
    now = int(time.time() * 1000)
    lines = "".join(
        json.dumps({"type": "RECORD", "record": {"stream": stream, "data": r, "emitted_at": now}}) + "\n" for r in records
    )
    with _out_lock:
        _write(lines)


class Client:
    def __init__(self, config: Dict[str, Any]) -> None:
        self.base = config["base_url"].rstrip("/") + "/api/0/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {config['auth_token']}"

    def get(self, path: str, params: Optional[Dict[str, Any]] = None) -> requests.Response:
        for attempt in range(20):
            response = self.session.get(self.base + path, params=params, timeout=120)
            reset = response.headers.get("X-Sentry-Rate-Limit-Reset")
            if response.status_code == 429 or response.status_code >= 500:
                time.sleep(max(0.05, float(reset) - time.time()) if reset else min(2 ** attempt, 30))
                continue
            if reset and response.headers.get("X-Sentry-Rate-Limit-Remaining") == "0":
                time.sleep(max(0.0, float(reset) - time.time()))
            response.raise_for_status()
            return response
        response.raise_for_status()
        return response

    def pages(self, path: str, params: Dict[str, Any]) -> Iterator[List[Dict[str, Any]]]:
        params = dict(params)
        while True:
            response = self.get(path, params)
            yield response.json()
            nxt = response.links.get("next") or {}
            if nxt.get("results") != "true":
                return
            params["cursor"] = nxt["cursor"]


def read(config: Dict[str, Any], state: Dict[str, str]) -> None:
    org = config["organization"]
    streams = config["streams"]
    incremental = config.get("incremental", False)
    end = _fmt(datetime.now(timezone.utc) + timedelta(seconds=1))
    since = {name: state.get(name) if incremental else None for name in streams}
    newest: Dict[str, str] = {}

    def track(stream: str, records: List[Dict[str, Any]]) -> None:
        field = CURSORS.get(stream)
        if field:
            for record in records:
                value = record.get(field)
                if value and (stream not in newest or _parse(value) > _parse(newest[stream])):
                    newest[stream] = value

    client = Client(config)
    if config.get("projects"):
        projects = [client.get(f"projects/{org}/{slug}/").json() for slug in config["projects"]]
        details_fetched = True
    else:
        projects = [p for page in client.pages(f"organizations/{org}/projects/", {"per_page": 100}) for p in page]
        details_fetched = False

    def run_stream(stream: str) -> None:
        c = Client(config)
        start = since.get(stream)
        if stream == "projects":
            records = [p for page in c.pages(f"organizations/{org}/projects/", {"per_page": 100}) for p in page]
            wanted = set(config.get("projects") or [])
            records = [p for p in records if not wanted or p["slug"] in wanted]
            _emit(stream, records)
            track(stream, records)
        elif stream == "project_detail":
            records = projects if details_fetched else [c.get(f"projects/{org}/{p['slug']}/").json() for p in projects]
            _emit(stream, records)
        elif stream == "events":
            for p in projects:
                params: Dict[str, Any] = {"full": "true", "per_page": 100}
                if start:
                    params.update(start=_fmt(_parse(start)), end=end)
                for page in c.pages(f"projects/{org}/{p['slug']}/events/", params):
                    _emit(stream, page)
                    track(stream, page)
        elif stream == "issues":
            for p in projects:
                params = {"project": p["id"], "limit": 100, "sort": "date", "end": end,
                          "start": _fmt(_parse(start)) if start else _fmt(datetime.now(timezone.utc) - timedelta(days=90)),
                          "query": f"lastSeen:>={_fmt(_parse(start))}" if start else ""}
                for page in c.pages(f"organizations/{org}/issues/", params):
                    _emit(stream, page)
                    track(stream, page)
        elif stream == "releases":
            for status in ("open", "archived"):
                # project=-1: every project the user can read, not only their teams' (as the connector)
                for page in c.pages(f"organizations/{org}/releases/", {"per_page": 100, "status": status, "project": -1}):
                    fresh = [r for r in page if not start or _parse(r["dateCreated"]) > _parse(start)]
                    _emit(stream, fresh)
                    track(stream, fresh)
                    if len(fresh) < len(page):
                        break
        else:
            raise SystemExit(f"unknown stream {stream}")

    errors: List[BaseException] = []

    def guarded(stream: str) -> None:
        try:
            run_stream(stream)
        except BaseException as error:  # reported below, the other streams go on
            errors.append(error)
            with _out_lock:
                print(json.dumps({"type": "TRACE", "trace": {"type": "ERROR", "error": {"message": f"{stream}: {error!r}"}}}))

    threads = [threading.Thread(target=guarded, args=(s,)) for s in streams]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for stream in streams:
        value = newest.get(stream) or state.get(stream)
        if value:
            print(json.dumps({"type": "STATE", "state": {"type": "STREAM", "stream": {
                "stream_descriptor": {"name": stream}, "stream_state": {CURSORS[stream]: value}}}}))
    sys.stdout.flush()
    if errors:
        sys.exit(1)


def main(argv: List[str]) -> None:
    command = argv[0]
    args = dict(zip(argv[1::2], argv[2::2]))
    if command == "spec":
        print(json.dumps({"type": "SPEC", "spec": {"connectionSpecification": {"type": "object", "required": ["base_url"]}}}))
        return
    with open(args["--config"]) as f:
        config = json.load(f)
    if command == "check":
        client = Client(config)
        slug = (config.get("projects") or [None])[0]
        client.get(f"projects/{config['organization']}/{slug}/" if slug else f"organizations/{config['organization']}/")
        print(json.dumps({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}}))
        return
    state: Dict[str, str] = {}
    if args.get("--state"):
        with open(args["--state"]) as f:
            for message in json.load(f):
                stream = message["stream"]
                value = stream["stream_state"]
                state[stream["stream_descriptor"]["name"]] = next(iter(value.values()))
    read(config, state)


if __name__ == "__main__":
    main(sys.argv[1:])
