"""release_deploys: Sentry lists the last deploy of a release per project and environment
(src/sentry/releases/endpoints/release_deploys.py ReleaseDeploysEndpoint.get reads the rows'
last_deploy_id), while the release's deployCount counts every deploy."""
from collections import Counter
from datetime import datetime, timedelta, timezone

import requests
from airbyte_cdk.models import SyncMode

from conftest import NOW
from harness import TOKEN, config_for, final_state, ground_truth, read, records_of, state_for
from sentry_emulator.dataset import build_dataset
from sentry_emulator.dataset.releases import listed_deploys

SIZES = dict(organization="acme", projects=2, events_per_project=3, issues_per_project=3, releases=80)


def listed_ids(emulator, version):
    url = f"{emulator.url}/api/0/organizations/acme/releases/{requests.utils.quote(version, safe='')}/deploys/"
    return [d["id"] for d in requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).json()]


def test_given_an_environment_deployed_twice_then_only_its_last_deploy_is_synced(shared_emulator, shared_dataset):
    releases = {r["version"]: r for r in shared_dataset.releases}
    counted = sum(r["deployCount"] for r in shared_dataset.releases)
    listed = [d for version, deploys in shared_dataset.deploys.items() for d in listed_deploys(releases[version], deploys)]
    assert len(listed) < counted, "the dataset has releases deployed twice to one environment"
    records = records_of(read(config_for(shared_emulator), ["release_deploys"]), "release_deploys")
    assert Counter(r["id"] for r in records) == Counter(d["id"] for d in listed)


def test_given_a_redeploy_to_the_same_environment_between_syncs_then_the_new_deploy_is_emitted(emulator_factory):
    dataset = build_dataset(now=NOW, **SIZES)
    emulator = emulator_factory(dataset)
    config = config_for(emulator)
    first = read(config, ["release_deploys"], SyncMode.incremental)
    first_ids = Counter(r["id"] for r in records_of(first, "release_deploys"))
    assert first_ids == Counter(d["id"] for d in ground_truth(dataset, "release_deploys"))

    release = min((r for r in dataset.releases if r["deployCount"]), key=lambda r: r["dateCreated"])
    (shown,) = [d for d in dataset.deploys[release["version"]] if d["id"] in listed_ids(emulator, release["version"])][:1]
    finished = datetime.now(timezone.utc) - timedelta(seconds=2)
    redeploy = {"id": "888888", "environment": shown["environment"], "dateStarted": None, "name": None, "url": None,
                "dateFinished": finished.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    emulator.add_deploy(release["version"], redeploy)
    assert "888888" in listed_ids(emulator, release["version"]) and shown["id"] not in listed_ids(emulator, release["version"])

    state = final_state(first, "release_deploys")
    second = read(config, ["release_deploys"], SyncMode.incremental, state=state_for({"release_deploys": state}))
    saved = state["state"]["dateFinished"]
    boundary = [d["id"] for d in ground_truth(dataset, "release_deploys") if d["dateFinished"][:19] == saved[:19]]
    assert sorted(r["id"] for r in records_of(second, "release_deploys")) == sorted(["888888", *boundary])
    assert shown["id"] in first_ids  # the deploy it replaced stays in the destination from the first sync
