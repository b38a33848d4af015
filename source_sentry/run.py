"""Entry point of the `source-sentry` command (spec, check, discover, read).

Why Python beyond the CDK's launcher: start-up time (bench scenario 3). Importing airbyte_cdk costs
about 1 CPU-s, so this module imports nothing of it until it must:
- `spec` is the manifest's spec block, answered from the YAML alone (a test checks it equals the
  CDK's answer);
- every other command pauses the cyclic GC, then imports the CDK and launches the source (launch.py).
"""
from __future__ import annotations

import gc
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

MANIFEST = Path(__file__).resolve().parent / "manifest.yaml"
# The spec block's keys this module knows how to answer; anything else goes through the CDK.
_PLAIN_SPEC_KEYS = {"type", "documentation_url", "connection_specification", "config_normalization_rules"}


def run(args: Optional[List[str]] = None) -> None:
    args = sys.argv[1:] if args is None else args
    spec = spec_message() if args == ["spec"] else None
    if spec is not None:
        print(spec)
        return
    # Importing the CDK and building the streams create over a hundred thousand long-lived
    # objects: the cyclic GC would walk them again and again meanwhile (8% of start-up CPU).
    # launch.py freezes them and turns the GC back on once the source is built.
    gc.disable()
    from source_sentry.launch import launch_source

    launch_source(args)


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


if __name__ == "__main__":
    run()
