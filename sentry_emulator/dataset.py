"""The emulator's ground truth: every record the emulated Sentry organization holds.

Records are shaped exactly like the real API's JSON responses. Keys starting with "_" are private
to the emulator (used for server-side filtering) and are stripped before a record is served.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List

Record = Dict[str, Any]


@dataclass
class Dataset:
    organization: Record                      # organization detail: id, slug, name, ...
    projects: List[Record]                    # GET /organizations/{org}/projects/ items (summary shape)
    project_details: Dict[str, Record]        # project slug -> GET /projects/{org}/{slug}/ body
    events: Dict[str, List[Record]]           # project slug -> full events (full=true shape)
    issues: Dict[str, List[Record]]           # project slug -> issues (group serializer shape)
    releases: List[Record]                    # org releases; "_status": "open" | "archived"
    teams: List[Record] = field(default_factory=list)
    members: List[Record] = field(default_factory=list)
    project_keys: Dict[str, List[Record]] = field(default_factory=dict)   # project slug -> keys
    environments: Dict[str, List[Record]] = field(default_factory=dict)   # project slug -> environments
    deploys: Dict[str, List[Record]] = field(default_factory=dict)        # release version -> deploys
    usage: List[Record] = field(default_factory=list)  # raw outcome rows, see build_dataset
