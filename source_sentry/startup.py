"""Start-up time of the `source-sentry` command.

Why Python: importing airbyte_cdk builds serpyco-rs serializers for the Airbyte protocol classes,
and serpyco-rs, for the descriptions in its JSON schemas, reads each class's attribute docstrings
by parsing the source of the class's whole module with `ast`, once per class: 0.45 of the 1.3
CPU-s the import takes. Serializing and validating messages never uses those descriptions. The
command (never `import source_sentry`) swaps that reader for one that finds none, before the CDK
is imported. A serpyco-rs without these hooks is left alone: start-up is then slower, not wrong.
"""
from __future__ import annotations

from typing import Any, Dict


def _no_docstrings(cls: Any) -> Dict[str, str]:
    return {}


def skip_protocol_docstrings() -> None:
    try:
        import serpyco_rs._describe as describe
        import serpyco_rs._json_schema._convert as convert
    except ImportError:
        return
    for module in (describe, convert):
        if hasattr(module, "get_attributes_doc"):
            module.get_attributes_doc = _no_docstrings
