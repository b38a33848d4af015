"""The connector is source_sentry/manifest.yaml; this shim loads it and adds what the declarative
language cannot express, each piece with its reason: config checks with actionable messages,
saved-state checks and per-project state keys, pacing from all of Sentry's
rate-limit headers, and a check that reaches every configured project."""
from __future__ import annotations

import ast
import json
import logging
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from airbyte_cdk.connector import BaseConnector
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteStateMessage,
    ConfiguredAirbyteCatalog,
    FailureType,
    Status,
)
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.sources.source import TState
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_sentry.config_checks import unreachable_host
from source_sentry.rate_limits import SentryRateLimits
from source_sentry.state import align_with_projects, sanitize_state


PACKAGE_DIR = Path(__file__).resolve().parent


class SourceSentry(YamlDeclarativeSource):
    def __init__(
        self,
        catalog: Optional[ConfiguredAirbyteCatalog] = None,
        config: Optional[Mapping[str, Any]] = None,
        state: Optional[TState] = None,
        **kwargs: Any,
    ) -> None:
        if state and config:
            state = align_with_projects(state, _project_slugs(config))
        super().__init__(path_to_yaml=str(PACKAGE_DIR / "manifest.yaml"), catalog=catalog, config=config, state=state, **kwargs)

    def _prepare_for_stream_build(self) -> None:
        """The manifest's API budget names the endpoints; Sentry's own headers pace them (see rate_limits.py)."""
        super()._prepare_for_stream_build()
        budget = getattr(self._constructor, "_api_budget", None)
        if budget is not None and not isinstance(budget, SentryRateLimits):
            self._constructor._api_budget = SentryRateLimits(endpoints_from=budget)

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        problem = unreachable_host(self._config.get("api_base", ""))
        if problem:
            return AirbyteConnectionStatus(status=Status.FAILED, message=problem)
        status = super().check(logger, config)
        if status.status == Status.FAILED:
            return AirbyteConnectionStatus(status=Status.FAILED, message=_unquote(status.message))
        problem = self._unreachable_project()
        return AirbyteConnectionStatus(status=Status.FAILED, message=problem) if problem else status

    def _unreachable_project(self) -> Optional[str]:
        """Why Python: CheckStream reads one partition, so only the first configured project. Listing
        project_detail's partitions fetches every configured project, and an unknown slug is a 404."""
        if not self._config.get("project_slugs"):
            return None
        project_detail = next(stream for stream in self.streams(self._config) if stream.name == "project_detail")
        try:
            for _ in project_detail.generate_partitions():
                pass
        except AirbyteTracedException as error:
            return error.message
        return None

    @classmethod
    def read_state(cls, state_path: str) -> List[AirbyteStateMessage]:
        # The launcher reads the state once to build the source and the CDK once more to read:
        # check it once per file so each warning is logged once.
        if state_path not in _checked_states:
            _checked_states[state_path] = sanitize_state(BaseConnector._read_json_file(state_path)) if state_path else []
        return _checked_states[state_path]


def _project_slugs(config: Mapping[str, Any]) -> List[str]:
    """The configured project slugs, as the manifest's config normalization derives them."""
    return ([config["project"]] if config.get("project") else []) + list(config.get("projects") or [])


def _unquote(message: Optional[str]) -> Optional[str]:
    """The CDK reports a failed check as the repr() of its message."""
    try:
        return str(ast.literal_eval(message)) if message and message[0] in "'\"" else message
    except (ValueError, SyntaxError):
        return message


_checked_states: Dict[str, List[AirbyteStateMessage]] = {}
