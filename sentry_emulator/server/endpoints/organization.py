"""The organization, its teams and its members."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...dataset import Record
from ..pagination import offset_paginate, paged, parse_cursor, per_page
from ..plumbing import Request, Response, json_body
from ..records import id_key, public

if TYPE_CHECKING:
    from ..emulator import SentryEmulator


def org_detail(emulator: SentryEmulator, request: Request, org: Record, **_: Any) -> Response:
    return Response(200, json_body(public(org)))


def org_teams(emulator: SentryEmulator, request: Request, org: Record, **_: Any) -> Response:
    limit = per_page(request, emulator.default_page_size)
    cursor = parse_cursor(request.get("cursor"))
    rows = sorted(emulator.dataset.teams, key=lambda t: str(t.get("slug", t.get("id"))))
    page, prev_c, next_c = offset_paginate(rows, limit, cursor)
    access = emulator.access()
    return paged(request, [access.served_team(t) for t in page], prev_c, next_c)


def org_members(emulator: SentryEmulator, request: Request, org: Record, **_: Any) -> Response:
    limit = per_page(request, emulator.default_page_size)
    cursor = parse_cursor(request.get("cursor"))
    rows = sorted(emulator.dataset.members, key=lambda m: id_key(m.get("id")))
    page, prev_c, next_c = offset_paginate(rows, limit, cursor)
    return paged(request, page, prev_c, next_c)
