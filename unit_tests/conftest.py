"""Shared fixtures: a live Sentry API emulator on 127.0.0.1 and its ground truth."""
from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterator, List

import pytest
from airbyte_cdk.sources.declarative import concurrent_declarative_source

from sentry_emulator.dataset import Dataset, build_dataset
from sentry_emulator.server import SentryEmulator

# Dataset dates are relative to the real clock: the connector pins its window end at now_utc().
NOW = datetime.now(timezone.utc).replace(microsecond=0)

# Big enough for three pages of 100 on every paginated stream.
DEFAULT_SIZES = dict(organization="acme", projects=3, events_per_project=230, issues_per_project=210, releases=240)


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Tests marked `waits(seconds=...)` spend most of their time asleep in retry back-offs (the CDK
    sleeps at least 1 s before each retry). Spread evenly through the run, the longest first, each
    sleeps while the other workers compute; bunched together (the fault matrix's rows came last),
    they left the cores idle."""
    def asleep(item: pytest.Item) -> float:
        return item.get_closest_marker("waits").kwargs["seconds"]

    waiting = sorted((item for item in items if item.get_closest_marker("waits")), key=asleep, reverse=True)
    others = [item for item in items if not item.get_closest_marker("waits")]
    every = len(others) / max(1, len(waiting))  # others between two waiting tests
    spread: List[pytest.Item] = []
    placed = 0  # waiting tests in `spread` so far: the k-th goes before the (k x every)-th other
    for index, item in enumerate(others):
        while placed < len(waiting) and placed * every <= index:
            spread.append(waiting[placed])
            placed += 1
        spread.append(item)
    items[:] = spread + waiting[placed:]


@pytest.fixture(scope="session", autouse=True)
def component_schema_parsed_once() -> Iterator[None]:
    """The CDK parses its declarative component schema (declarative_component_schema.yaml, shipped in
    the package) again for every source it builds: ~90 ms of CPU, about half of building a
    SourceSentry, and the tests build some 340 sources. The file does not change during a
    run, so each test process parses it once and every source gets its own deep copy of the result
    (4 ms), as if it had parsed it. Tests only: a connector process builds one source. The commands
    the tests run as subprocesses take the CDK's own path. If the CDK renames the function, setattr
    fails here, loudly."""
    original = concurrent_declarative_source.get_declarative_component_schema
    parsed: Dict[str, Any] = original()

    def parsed_once() -> Dict[str, Any]:
        return copy.deepcopy(parsed)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(concurrent_declarative_source, "get_declarative_component_schema", parsed_once)
        yield


@pytest.fixture(scope="session")
def shared_dataset() -> Dataset:
    return build_dataset(now=NOW, **DEFAULT_SIZES)


@pytest.fixture(scope="session")
def shared_emulator(shared_dataset: Dataset) -> Iterator[SentryEmulator]:
    """A read-only emulator for tests that do not change its data or faults."""
    with SentryEmulator(shared_dataset) as emulator:
        yield emulator


@pytest.fixture
def emulator_factory() -> Iterator[Callable[..., SentryEmulator]]:
    """Starts emulators on their own datasets; tests that mutate data or inject faults use these."""
    started = []

    def start(dataset: Dataset | None = None, **kwargs) -> SentryEmulator:
        emulator = SentryEmulator(dataset or build_dataset(now=NOW, **DEFAULT_SIZES), **kwargs).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(emulator_factory) -> SentryEmulator:
    return emulator_factory()
