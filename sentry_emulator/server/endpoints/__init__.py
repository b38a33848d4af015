"""The endpoint handlers, one module per resource family.

A handler is ``handler(emulator, request, org=<organization record>, project=<project record or
None>, **other path parameters) -> Response``. It runs under the emulator's lock, after
authentication, the organization and project look-ups and the scope check, and it answers from
``emulator.dataset``; an ``ApiError`` it raises becomes Sentry's error response. The shared pieces:
``pagination`` (per_page, parse_cursor, the paginators, paged), ``params`` (date_range),
``emulator.access()`` (access.py: the token's projects and what a ``project`` parameter selects),
``emulator.behaviour`` (versions.py: what an older Sentry does differently), ``records`` (public,
record_time, id_key) and ``emulator.sorted_rows`` (a sorted view cached until the dataset changes).
"""
