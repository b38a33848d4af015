"""Helpers every builder shares: datetimes rendered as Sentry renders them, Sentry's short-id
base32, random hex ids and seeded random generators.

Datetimes are rendered the way Sentry's API (Django REST framework) renders them: ISO 8601 in UTC
with a "Z", and with six fractional digits only when the value has a sub-second part
("2024-05-01T12:00:00Z", "2024-05-01T12:00:00.123456Z", "2024-05-01T12:00:00.123000Z").
"""
from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Optional

_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"   # sentry.utils.strings.base32_encode (short ids)


def format_datetime(dt: Optional[datetime]) -> Optional[str]:
    """Render a datetime like Sentry's API does (DRF): microseconds only when non-zero."""
    if dt is None:
        return None
    dt = dt.astimezone(timezone.utc)
    if dt.microsecond:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


_DAY_PREFIX: Dict[int, str] = {}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def fmt_ts(ts: int, micro: int = 0) -> str:
    """format_datetime() for an epoch-seconds integer (fast path used for bulk events)."""
    day, rem = divmod(ts, 86400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = (EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
        _DAY_PREFIX[day] = prefix
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if micro:
        return "%s%02d:%02d:%02d.%06dZ" % (prefix, h, m, sec, micro)
    return "%s%02d:%02d:%02dZ" % (prefix, h, m, sec)


def parse_datetime(value: str) -> datetime:
    """Parse any Sentry datetime rendering ("...Z", with or without fractional seconds)."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt


def aware(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def base32(n: int) -> str:
    s = ""
    while True:
        n, r = divmod(n, 32)
        s = _BASE32[r] + s
        if n == 0:
            return s


def base32_decode(s: str) -> int:
    n = 0
    for ch in s:
        n = n * 32 + _BASE32.index(ch)
    return n


def random_hex(rng: random.Random, bits: int = 128) -> str:
    return "%0*x" % (bits // 4, rng.getrandbits(bits))


def seeded(*parts: Any) -> random.Random:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def with_fraction(rng: random.Random, dt: datetime, ceiling: Optional[datetime] = None) -> datetime:
    """Real lastSeen/firstSeen carry the SDK's sub-second timestamp about half of the time."""
    if rng.random() < 0.5:
        return dt
    out = dt.replace(microsecond=rng.randrange(1, 1_000_000))
    if ceiling is not None and out > ceiling:
        return dt
    return out
