"""The connector is source_sentry/manifest.yaml, with its custom components (config checks, saved
state, de-duplication, one JSON parse per page). This class adds what no manifest component can
reach, each piece with its reason: pacing from all of Sentry's rate-limit headers, a check that
first sees whether the host answers and then reaches every configured project, and the state
file's shape checked before the CDK parses it."""
from __future__ import annotations

import ast
import logging
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

from airbyte_cdk.models import AirbyteConnectionStatus, AirbyteMessage, AirbyteStateMessage, ConfiguredAirbyteCatalog, Status
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.sources.source import TState
from airbyte_cdk.sources.streams.call_rate import APIBudget
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_sentry.config_checks import unreachable_host
from source_sentry.projects import end_scope
from source_sentry.rate_limits import SentryRateLimits
from source_sentry.state import read_state_file

MANIFEST = Path(__file__).resolve().parent / "manifest.yaml"


class SourceSentry(YamlDeclarativeSource):
    def __init__(
        self,
        catalog: Optional[ConfiguredAirbyteCatalog] = None,
        config: Optional[Mapping[str, Any]] = None,
        state: Optional[TState] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(path_to_yaml=str(MANIFEST), catalog=catalog, config=config, state=state, **kwargs)

    def _prepare_for_stream_build(self) -> None:
        """Sentry's own headers pace the endpoints the manifest's API budget names (rate_limits.py).

        Private CDK names, because nothing public can set the streams' API budget: the manifest's
        `api_budget` accepts only an HTTPAPIBudget, with no custom type, and the component factory
        that hands it to every requester is built inside the source's constructor. The CDK calls
        this hook each time it builds streams, after it has built the manifest's budget. A CDK
        without `_constructor._api_budget` fails here on every command; one that stops calling the
        hook fails unit_tests/test_faults.py's pacing tests (429s appear), so pacing never switches
        off silently."""
        super()._prepare_for_stream_build()
        factory = self._constructor
        budget = factory._api_budget
        if isinstance(budget, SentryRateLimits):
            return
        if not isinstance(budget, APIBudget):
            raise RuntimeError(f"The CDK built no API budget from the manifest ({budget!r}): Sentry's rate limits cannot be paced.")
        factory._api_budget = SentryRateLimits(endpoints_from=budget)

    def read(self, logger: logging.Logger, config: Mapping[str, Any], catalog: ConfiguredAirbyteCatalog,
             state: Optional[List[AirbyteStateMessage]] = None) -> Iterator[AirbyteMessage]:
        """The project selection this read shared between its streams is forgotten when it ends
        (source_sentry/projects.py): a later read, even by this source, fetches it again."""
        with tempfile.TemporaryDirectory() as temp_dir:
            scope = self.configure(config, temp_dir)
        try:
            yield from super().read(logger, config, catalog, state)
        finally:
            end_scope(scope)

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        with tempfile.TemporaryDirectory() as temp_dir:
            scope = self.configure(config, temp_dir)
        try:
            return self._check(logger, config)
        finally:
            end_scope(scope)

    def _check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        """Why Python: a read retries a lost connection over 8 min 38 s, and `check` shares those
        retries; the manifest's `check.config_overrides` could shorten the back-off but not the wait
        for a host that never answers, nor say in one sentence what is wrong. So one plain request
        first tells whether the host answers at all (config_checks.unreachable_host)."""
        with tempfile.TemporaryDirectory() as temp_dir:
            # The config as the manifest normalized it (api_base, project_slugs), which the source
            # keeps: `configure` returns it (the entrypoint passes that, a direct caller may not).
            config = self.configure(config, temp_dir)
        problem = unreachable_host(config.get("api_base", ""))
        if problem:
            return AirbyteConnectionStatus(status=Status.FAILED, message=problem)
        status = super().check(logger, config)
        if status.status == Status.FAILED:
            return AirbyteConnectionStatus(status=Status.FAILED, message=_unquote(status.message))
        problem = self._unreachable_project(config)
        return AirbyteConnectionStatus(status=Status.FAILED, message=problem) if problem else status

    def _unreachable_project(self, config: Mapping[str, Any]) -> Optional[str]:
        """Why Python: CheckStream reads one partition, so only the first configured project. Listing
        project_detail's partitions fetches every configured project, and an unknown slug is a 404."""
        if not config.get("project_slugs"):
            return None
        project_detail = next(stream for stream in self.streams(config) if stream.name == "project_detail")
        try:
            for _ in project_detail.generate_partitions():
                pass
        except AirbyteTracedException as error:
            return error.message
        return None

    @classmethod
    def read_state(cls, state_path: str) -> List[AirbyteStateMessage]:
        """The state file's shape, checked before the CDK parses it (state.py). The command reads
        the state once to build the source and the CDK once more to read: once per file, so each
        warning is logged once."""
        if state_path not in _read_states:
            _read_states[state_path] = read_state_file(state_path) if state_path else []
        return _read_states[state_path]


def _unquote(message: Optional[str]) -> Optional[str]:
    """The CDK reports a failed check as the repr() of its message."""
    try:
        return str(ast.literal_eval(message)) if message and message[0] in "'\"" else message
    except (ValueError, SyntaxError):
        return message


_read_states: Dict[str, List[AirbyteStateMessage]] = {}
