"""Reading and rendering the dataset's records: private keys stripped, times read, ids ordered."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional, Tuple

from ..dataset import Record, is_private_key

UTC = timezone.utc


def public(value: Any) -> Any:
    """Copy of a record without the emulator's private ``_`` keys (recursively)."""
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items() if not is_private_key(k)}
    if isinstance(value, list):
        return [public(v) for v in value]
    return value


def parse_iso(value: str) -> datetime:
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def record_time(record: Record, key: str) -> Optional[float]:
    value = record.get(key)
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    try:
        return parse_iso(str(value)).timestamp()
    except (ValueError, IndexError):
        return None


def id_key(value: Any) -> Tuple[int, Any]:
    """Sort key for ids: numeric ids numerically, other ids as text after them."""
    text = str(value) if value is not None else ""
    return (0, int(text), "") if text.isdigit() else (1, 0, text)  # type: ignore[return-value]
