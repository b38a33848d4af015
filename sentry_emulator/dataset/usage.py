"""Usage statistics: the raw outcome rows GET /organizations/{org}/stats_v2/ aggregates (one row
per project, day, category and outcome; the accepted errors are the project's events that day)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Dict, List

from .model import USAGE_DAYS, Record
from .project_facts import ProjectInfo


def build_usage(rng: random.Random, infos: List[ProjectInfo], events_by_slug: Dict[str, List[Record]],
                now: datetime) -> List[Record]:
    usage: List[Record] = []
    today = now.date()
    for p in infos:
        per_day: Dict[str, int] = {}
        for ev in events_by_slug[p.slug]:
            d = ev["dateCreated"][:10]
            per_day[d] = per_day.get(d, 0) + 1
        urng = random.Random(rng.getrandbits(64))
        for back in range(USAGE_DAYS - 1, -1, -1):
            day = (today - timedelta(days=back)).isoformat()
            rows = [
                ("error", "accepted", per_day.get(day, 0)),
                ("error", "filtered", urng.randrange(0, 30)),
                ("error", "rate_limited", urng.randrange(0, 400) if urng.random() < 0.15 else 0),
                ("error", "invalid", urng.randrange(0, 5) if urng.random() < 0.3 else 0),
                ("error", "client_discard", urng.randrange(0, 20) if urng.random() < 0.2 else 0),
                ("transaction", "accepted", urng.randrange(800, 20_000)),
                ("transaction", "filtered", urng.randrange(0, 500)),
                ("transaction", "client_discard", urng.randrange(1_000, 60_000)),
                ("transaction", "rate_limited", urng.randrange(0, 3_000) if urng.random() < 0.1 else 0),
                ("attachment", "accepted", urng.randrange(0, 5_000_000) if urng.random() < 0.4 else 0),
            ]
            if p.event_platform == "javascript":
                rows.append(("replay", "accepted", urng.randrange(20, 600)))
                rows.append(("replay", "client_discard", urng.randrange(0, 200)))
            if p.slug == "worker":
                rows.append(("monitor", "accepted", 24 * 4))
            for category, outcome, qty in rows:
                if qty > 0:
                    usage.append({"date": day, "category": category, "outcome": outcome,
                                  "project_id": p.int_id, "quantity": qty})
    return usage
