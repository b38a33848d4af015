"""Entry point of the `source-sentry` command (spec, check, discover, read).

Importing airbyte_cdk costs about 1 CPU-s, so `spec` is answered from the manifest's YAML alone
(a test checks it equals the CDK's answer) and the CDK is imported only by the other commands.
"""
from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import yaml

if TYPE_CHECKING:
    from source_sentry.source import SourceSentry

MANIFEST = Path(__file__).resolve().parent / "manifest.yaml"
# The spec block's keys spec_message knows how to answer; anything else goes through the CDK.
_PLAIN_SPEC_KEYS = {"type", "documentation_url", "connection_specification", "config_normalization_rules"}


def run(args: Optional[List[str]] = None) -> None:
    args = sys.argv[1:] if args is None else args
    spec = spec_message() if args == ["spec"] else None
    if spec is not None:
        print(spec)
        return
    # Importing the CDK and building the streams create over a hundred thousand objects that live
    # as long as the process. The cyclic GC would walk them again and again meanwhile (8% of
    # start-up CPU), and afterwards on every full collection, which parsing pages of records sets
    # off (on 20,000 events, bench scenario 1: 1.7 CPU-s of 6.3). So the GC is paused until the
    # source is built, then they are frozen out of its reach; records are still freed by
    # reference counting as soon as they are emitted.
    gc.disable()
    source = start(args)
    if source is None:
        sys.exit(0 if args[:1] == ["check"] else 1)  # a failed check is an answer, not a crash
    gc.freeze()
    gc.enable()
    from airbyte_cdk.entrypoint import launch

    launch(source, args)


def spec_message() -> Optional[str]:
    """The SPEC message as the CDK writes it, or None when the spec block uses anything beyond a
    connection specification and a documentation URL (then the CDK answers)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    spec: Dict[str, Any] = yaml.load(MANIFEST.read_text(), Loader=loader).get("spec") or {}
    if not set(spec) <= _PLAIN_SPEC_KEYS or "$ref" in json.dumps(spec) or "connection_specification" not in spec:
        return None
    body: Dict[str, Any] = {"connectionSpecification": spec["connection_specification"]}
    if spec.get("documentation_url"):
        body["documentationUrl"] = spec["documentation_url"]
    body.update(supportsNormalization=False, supportsDBT=False)  # the protocol's defaults, written out by the CDK
    return json.dumps({"type": "SPEC", "spec": body}, separators=(",", ":"), ensure_ascii=False)


def start(args: List[str]) -> Optional["SourceSentry"]:
    """The source for these arguments (CDK 7 sources take config, catalog and state when built),
    or None after printing why it cannot start: a bad config, an unreadable catalog or state file
    get one clear message (a failed CONNECTION_STATUS for `check`) instead of a traceback."""
    import orjson
    from airbyte_cdk.entrypoint import AirbyteEntrypoint
    from airbyte_cdk.models import AirbyteConnectionStatus, AirbyteMessage, AirbyteMessageSerializer, FailureType, Status, Type
    from airbyte_cdk.utils.traced_exception import AirbyteTracedException

    from source_sentry.source import SourceSentry

    try:
        config_path = AirbyteEntrypoint.extract_config(args)
        catalog_path = AirbyteEntrypoint.extract_catalog(args)
        state_path = AirbyteEntrypoint.extract_state(args)
        return SourceSentry(
            config=SourceSentry.read_config(config_path) if config_path else None,
            catalog=SourceSentry.read_catalog(catalog_path) if catalog_path else None,
            state=SourceSentry.read_state(state_path) if state_path else None,
        )
    except Exception as error:
        if not isinstance(error, AirbyteTracedException):
            error = AirbyteTracedException(
                message=f"Could not start the Sentry source: {error}",
                internal_message=str(error),
                failure_type=FailureType.config_error,
            )
        if args[:1] == ["check"]:
            status = AirbyteConnectionStatus(status=Status.FAILED, message=error.message)
            message = AirbyteMessage(type=Type.CONNECTION_STATUS, connectionStatus=status)
        else:
            message = error.as_airbyte_message()
        print(orjson.dumps(AirbyteMessageSerializer.dump(message)).decode())
        return None


if __name__ == "__main__":
    run()
