"""A first sync of a large project is read in parts, each saved when done (source_sentry/projects.py):
killed part-way (SIGKILL, as a process), the rerun from its last STATE message loses no event and
reads again at most the parts that were being read."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from airbyte_cdk.models import SyncMode

from conftest import NOW
from harness import catalog_for, config_for, final_state, read, records_of, state_for, write_json
from sentry_emulator.dataset import build_dataset

HERE = Path(__file__).resolve().parent
PART_SIZE = 150


def parts_of(state):
    return {entry["partition"]["part"]: entry["cursor"]["dateCreated"] for entry in state.get("states", []) if "part" in entry["partition"]}


def test_given_a_large_first_sync_killed_part_way_when_rerun_from_its_last_state_then_no_event_is_lost_and_only_the_open_parts_are_read_again(
    emulator_factory, tmp_path
):
    dataset = build_dataset(now=NOW, organization="acme", projects=1, events_per_project=900, issues_per_project=5,
                            releases=2, transactions_per_project=0, logs_per_project=0)
    emulator = emulator_factory(dataset)
    emulator.faults.add(r"^/api/0/projects/acme/web/events/$", "latency", delay=0.15)
    config = config_for(emulator, events_part_size=PART_SIZE, num_workers=2)
    catalog = catalog_for(["events"], SyncMode.incremental)
    from airbyte_cdk.models import ConfiguredAirbyteCatalogSerializer
    command = [sys.executable, str(HERE / "frequent_state.py"), "read", "--config", write_json(tmp_path / "config.json", config),
               "--catalog", write_json(tmp_path / "catalog.json", json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog)))]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ})
    delivered, last_state = [], None
    total = len(dataset.events["web"])
    try:
        for line in process.stdout:
            message = json.loads(line) if line.startswith("{") else {}
            if message.get("type") == "RECORD":
                delivered.append(message["record"]["data"]["id"])
            elif message.get("type") == "STATE":
                last_state = message["state"]["stream"]["stream_state"]
            if len(delivered) >= total // 2 and last_state:  # half of the history delivered: kill it, mid-part
                process.send_signal(signal.SIGKILL)
                break
    finally:
        process.kill()
        process.wait()
    assert last_state is not None and process.returncode == -signal.SIGKILL
    assert total // 2 <= len(delivered) < total, "killed before the sync ended"

    rerun = read(config, ["events"], SyncMode.incremental, state=state_for({"events": last_state}))

    assert rerun.errors == []
    every = {event["id"] for event in dataset.events["web"]}
    again = [record["id"] for record in records_of(rerun, "events")]
    assert set(delivered) | set(again) == every  # no event lost
    assert max(Counter(again).values()) == 1
    # read again: at most the parts being read when it was killed (two workers: two parts at once)
    bounds = sorted(parts_of(final_state(rerun, "events")))
    def in_part(event, part):
        low, high = part.split("/")
        return (not low or event["dateCreated"][:19] >= low[:19]) and (not high or event["dateCreated"][:19] < high[:19])
    largest = max(sum(1 for event in dataset.events["web"] if in_part(event, part)) for part in bounds)
    assert len(bounds) >= total // PART_SIZE
    assert len(set(again) & set(delivered)) <= 2 * largest, "the rerun re-read finished parts"
    print(f"resumed: {len(delivered)} of {total} events delivered before the kill, {len(again)} read by the rerun, "
          f"{len(set(again) & set(delivered))} of them again ({len(bounds)} parts, the largest {largest} events)")
    # the next sync finds nothing new, and reads no part
    emulator.clear_log()
    third = read(config, ["events"], SyncMode.incremental, state=state_for({"events": final_state(rerun, "events")}))
    assert third.errors == [] and records_of(third, "events") == []
    assert not [r for r in emulator.requests if re.search(r"/projects/acme/web/events/$", r.path)]
