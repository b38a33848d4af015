"""Event records: EventSerializer (GET /projects/{org}/{project}/events/?full=true); the summary
served without full=true is model.event_summary()."""
from __future__ import annotations

import hashlib
import random
from typing import Dict, List, Optional, Tuple

from .catalogues import ENHANCEMENTS, ERRORS, FIRST_NAMES, GROUPING_CONFIG, LAST_NAMES, USER_GEOS, WORKER_TASKS
from .helpers import fmt_ts, random_hex, seeded
from .model import Record
from .project_facts import ProjectInfo


class EventFactory:
    """Builds full events (EventSerializer shape) for one project; shares immutable sub-structures."""

    def __init__(self, project: ProjectInfo, dsn_host: str):
        self.p = project
        self.dsn_host = dsn_host
        self._tag_cache: Dict[Tuple[str, str], Record] = {}
        self._issue_cache: Dict[str, Tuple] = {}
        plat = project.event_platform
        self.sdk = {"name": project.sdk_name, "version": project.sdk_version}
        self.grouping = {"id": GROUPING_CONFIG, "enhancements": ENHANCEMENTS}
        # EventSerializer's `_meta` for an event nothing was scrubbed or trimmed from: one entry per
        # annotated part, empty (src/sentry/api/serializers/models/event.py EventSerializer.serialize)
        self.meta: Record = {"entries": {}, "message": None, "user": None, "contexts": None, "sdk": None,
                             "context": None, "packages": None, "tags": {}}
        if plat == "javascript":
            self.packages: Record = {}
        elif plat == "python":
            self.packages = {"django": "5.1.3", "celery": "5.4.0", "redis": "5.2.0", "requests": "2.32.3",
                             "sentry-sdk": project.sdk_version}
        else:
            self.packages = {}
        self.empty_context: Record = {}
        self.no_errors: List[Record] = []
        self.js_errors = [{"type": "js_no_source", "message": "Source code was not found",
                           "data": {"url": "https://app.acme.io/static/js/main.4f2a1c.js"}}]
        self.other_errors = [{"type": "invalid_data", "message": "Discarded invalid value",
                              "data": {"name": "contexts.trace.span_id", "reason": "expected a span id",
                                       "value": "not-a-span"}}]

    # -- shared pieces ---------------------------------------------------------------------
    def tag(self, key: str, value: str) -> Record:
        t = self._tag_cache.get((key, value))
        if t is None:
            t = {"key": key, "value": value}
            if key == "user":
                kind, _, v = value.partition(":")
                t["query"] = f'user.{kind}:"{v}"'
            self._tag_cache[(key, value)] = t
        return t

    def user_pool(self, rng: random.Random, n: int = 60) -> List[Optional[Record]]:
        pool: List[Optional[Record]] = []
        for i in range(n):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            uid = str(rng.randrange(1000, 999999))
            email = f"{first.lower()}.{last.lower().replace('ü', 'ue')}{i}@example.com"
            ip = f"203.0.113.{rng.randrange(1, 255)}" if rng.random() < 0.5 else f"198.51.100.{rng.randrange(1, 255)}"
            pool.append({
                "id": uid,
                "email": email if rng.random() < 0.8 else None,
                "username": f"{first.lower()}{i}" if rng.random() < 0.4 else None,
                "ip_address": ip,
                "name": f"{first} {last}" if rng.random() < 0.5 else None,
                "geo": user_geo(ip),
                "data": {"plan": rng.choice(["free", "team", "business"])} if rng.random() < 0.2 else None,
            })
        if self.p.slug == "worker":   # background tasks mostly run without a user
            pool.extend([None] * n)
        return pool

    def _frames(self, spec: Tuple, rng: random.Random) -> List[Record]:
        etype, value, filename, function, module, _mech = spec
        plat = self.p.event_platform
        frames = []
        outer = [("django/core/handlers/base.py", "_get_response", "django.core.handlers.base", False),
                 ("django/core/handlers/exception.py", "inner", "django.core.handlers.exception", False)]
        if plat == "javascript":
            outer = [("./node_modules/react-dom/cjs/react-dom.production.min.js", "renderWithHooks", None, False)]
        elif plat not in ("python",):
            outer = [("runtime/proc.go" if plat == "go" else "lib/framework/router", "dispatch", None, False)]
        for fname, fn, mod, in_app in outer:
            frames.append(self._frame(fname, fn, mod, in_app, rng))
        frames.append(self._frame(filename, function, module, True, rng))
        return frames

    def _frame(self, filename: str, function: str, module: Optional[str], in_app: bool,
               rng: random.Random) -> Record:
        line = rng.randrange(10, 400)
        web = self.p.event_platform == "javascript"
        return {
            "filename": filename,
            "absPath": (f"app:///{filename.lstrip('./')}" if web else
                        f"/app/{filename}" if not filename.startswith("/") else filename),
            "module": module,
            "package": None,
            "platform": None,
            "instructionAddr": None,
            "symbolAddr": None,
            "function": function,
            "rawFunction": None,
            "symbol": None,
            "context": [[line - 1, "    try:" if not web else "  try {"],
                        [line, f"    {function}(payload)" if not web else f"  {function}(props);"],
                        [line + 1, "    except Exception:" if not web else "  } catch (e) {"]],
            "lineNo": line,
            "colNo": rng.randrange(5, 80) if web else None,
            "inApp": in_app,
            "trust": None,
            "errors": None,
            "lock": None,
            "sourceLink": None,
            "vars": None if web or not in_app else {"payload": "{'items': []}", "self": "<OrderView>"},
        }

    def issue_parts(self, issue: Record) -> Tuple:
        parts = self._issue_cache.get(issue["id"])
        if parts is not None:
            return parts
        rng = seeded("issue-parts", issue["id"])
        md = issue["metadata"]
        plat = self.p.event_platform
        if issue["type"] == "default":
            main_entry = {"type": "message", "data": {"formatted": md["title"], "message": None, "params": None}}
            message = md["title"]
            location = None
            handled = True
        else:
            spec = next((s for s in ERRORS[plat] if s[0] == md["type"] and s[3] == md["function"]),
                        ERRORS[plat][0])
            handled = not issue.get("isUnhandled")
            frames = self._frames(spec, rng)
            has_system = any(not f["inApp"] for f in frames)
            main_entry = {"type": "exception", "data": {
                "values": [{
                    "type": spec[0],
                    "value": spec[1],
                    "mechanism": {"type": spec[5], "handled": handled},
                    "threadId": None,
                    "module": spec[4],
                    "stacktrace": {"frames": frames, "framesOmitted": None, "registers": None,
                                   "hasSystemFrames": has_system},
                    "rawStacktrace": None,
                }],
                "excOmitted": None,
                "hasSystemFrames": has_system,
            }}
            message = ""
            location = spec[2]
        # the transaction (route or task) the event happened in
        culprit = issue["culprit"] or ""
        if self.p.slug == "worker":
            transaction = rng.choice(WORKER_TASKS)
        elif culprit.startswith("/"):
            transaction = culprit
        elif " /" in culprit:
            transaction = culprit.split(" ", 1)[1]
        else:
            transaction = rng.choice(self.p.transactions)
        path = transaction.split(" ", 1)[-1] if "/" in transaction else "/orders/9921"
        request_entry = None
        if plat == "javascript":
            request_entry = {"type": "request", "data": {
                "apiTarget": None, "method": None, "url": f"https://app.acme.io{path}",
                "query": [], "fragment": None, "data": None,
                "headers": [["Referer", "https://app.acme.io/"],
                            ["User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                           "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"]],
                "cookies": [], "env": None, "inferredContentType": None}}
        elif self.p.slug != "worker":
            request_entry = {"type": "request", "data": {
                "apiTarget": None, "method": "POST" if culprit.startswith("POST") or rng.random() < 0.4 else "GET",
                "url": f"https://api.acme.io{path}",
                "query": [["page", "2"]] if rng.random() < 0.3 else [], "fragment": None,
                "data": None, "headers": [["Accept", "application/json"], ["Host", "api.acme.io"]],
                "cookies": [], "env": {"SERVER_NAME": "web-1", "SERVER_PORT": "8000"},
                "inferredContentType": None}}
        fingerprint = hashlib.md5(f"{issue['id']}:{issue['title']}".encode()).hexdigest()
        parts = (main_entry, request_entry, message, location, [fingerprint], handled, transaction, path)
        self._issue_cache[issue["id"]] = parts
        return parts

    def contexts(self, rng: random.Random, trace_id: str, span_id: str, browser_version: str,
                 os_name: str) -> Record:
        plat = self.p.event_platform
        trace = {"trace_id": trace_id, "span_id": span_id, "op": "pageload" if plat == "javascript" else
                 "queue.task.celery" if self.p.slug == "worker" else "http.server",
                 "status": "unknown" if plat == "javascript" else "internal_error", "type": "trace"}
        if plat == "javascript":
            return {
                "browser": {"name": "Chrome", "version": browser_version, "type": "browser"},
                "os": {"name": os_name, "version": ">=10" if os_name == "Windows" else "14" if os_name == "Android"
                       else "10.15.7", "type": "os"},
                "trace": trace,
            }
        return {
            "runtime": {"name": "CPython" if plat == "python" else plat, "version": "3.12.7" if plat == "python"
                        else "1.0", "type": "runtime"},
            "os": {"name": "Linux", "version": "6.1.0", "type": "os"},
            "trace": trace,
        }

    def build(self, rng: random.Random, event_id: str, issue: Record, when: int,
              user: Optional[Record], environment: str, release: Optional[str]) -> Record:
        """One full event; `when` is the event time in epoch seconds (events have 1 s granularity)."""
        p = self.p
        plat = p.event_platform
        (main_entry, request_entry, message, location, fingerprints, handled, transaction,
         path) = self.issue_parts(issue)
        crumb_base = when - 30
        crumbs = [
            {"type": "navigation" if plat == "javascript" else "default",
             "category": "navigation" if plat == "javascript" else "query",
             "level": "info", "event_id": None,
             "timestamp": fmt_ts(crumb_base, 123000),
             "data": {"from": "/", "to": path} if plat == "javascript" else None,
             "message": None if plat == "javascript" else 'SELECT "orders_order"."id" FROM "orders_order" LIMIT 21'},
            {"type": "http", "category": "fetch" if plat == "javascript" else "httplib", "level": "info",
             "event_id": None,
             "timestamp": fmt_ts(crumb_base + 20, 456000),
             "data": {"method": "GET", "url": "https://api.acme.io/api/orders/", "status_code": 200},
             "message": None},
        ]
        entries = [main_entry, {"type": "breadcrumbs", "data": {"values": crumbs}}]
        if request_entry is not None:
            entries.append(request_entry)
        tags = []
        browser_version = os_name = ""
        if plat == "javascript":
            browser_version = rng.choice(("131.0.0", "131.0.0", "130.0.0", "129.0.0"))
            os_name = rng.choice(("Windows", "Windows", "Mac OS X", "Android"))
            tags.append(self.tag("browser", f"Chrome {browser_version}"))
            tags.append(self.tag("browser.name", "Chrome"))
        tags.append(self.tag("environment", environment))
        if issue["type"] == "error":
            tags.append(self.tag("handled", "yes" if handled else "no"))
        tags.append(self.tag("level", issue["level"]))
        if issue["type"] == "error":
            tags.append(self.tag("mechanism", main_entry["data"]["values"][0]["mechanism"]["type"]))
        if plat == "javascript":
            tags.append(self.tag("os.name", os_name))
        if release:
            tags.append(self.tag("release", release))
        if plat != "javascript":
            tags.append(self.tag("runtime", "CPython 3.12.7" if plat == "python" else plat))
            tags.append(self.tag("runtime.name", "CPython" if plat == "python" else plat))
            tags.append(self.tag("server_name", f"{p.slug}-{int(event_id[:2], 16) % 3 + 1}"))
        tags.append(self.tag("transaction", transaction))
        if plat == "javascript":
            tags.append(self.tag("url", f"https://app.acme.io{path}"))
        if user is not None:
            if user.get("id"):
                tags.append(self.tag("user", f"id:{user['id']}"))
            else:
                tags.append(self.tag("user", f"ip:{user['ip_address']}"))
        r = rng.random()
        errors = (self.no_errors if r >= 0.04 else self.js_errors if plat == "javascript" else self.other_errors)
        received_us = rng.randrange(20_000, 1_900_000)
        return {
            "id": event_id,
            "groupID": issue["id"],
            "eventID": event_id,
            "projectID": p.id,
            "size": rng.randrange(2_000, 60_000),
            "entries": entries,
            "dist": None,
            "message": message,
            "title": issue["title"],
            "location": location,
            "user": user,
            "contexts": self.contexts(rng, random_hex(rng), random_hex(rng, 64), browser_version, os_name),
            "sdk": self.sdk,
            "context": self.empty_context,
            "packages": self.packages,
            "type": issue["type"],
            "metadata": issue["metadata"],
            "tags": tags,
            "platform": plat,
            "dateReceived": fmt_ts(when + received_us // 1_000_000, received_us % 1_000_000),
            "errors": errors,
            "occurrence": None,
            "crashFile": None,
            "culprit": issue["culprit"],
            "dateCreated": fmt_ts(when),
            "fingerprints": fingerprints,
            "groupingConfig": self.grouping,
            "_meta": self.meta,
        }


def user_geo(ip_address: str) -> Optional[Record]:
    """Where GeoIP put the user's address, or None for one it did not find (the user interface's
    `geo`, in Sentry's published listProjectEvents schema). Derived from the address rather than
    drawn, so that adding it left every other value of the dataset unchanged."""
    octet = int(ip_address.rsplit(".", 1)[1])
    if octet % 3 == 0:
        return None
    return dict(USER_GEOS[octet % len(USER_GEOS)])
