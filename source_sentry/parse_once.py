"""Each page's JSON body is parsed once per response, not three times.

Why Python: with the declarative components alone the CDK parses every page three times: the error
handler's not-JSON predicate parses it with the stdlib `json` (on every 200, to catch a truncated
body or a proxy's HTML page), the record selector parses it with orjson, and the Link-header
paginator parses it again although it reads only headers. Profiled on 20,000 events the three
parses were half of the connector's CPU, the two redundant ones 35% (bench/profile_ours.py). The manifest has no way to share a parsed body, so:

- `JsonPageDecoder` (the retriever's decoder, also handed to the paginator) parses the body once
  with orjson and keeps the result on the response object;
- `SuccessForJsonPages` wraps the manifest's declarative error handler: a 200 whose body parses is a
  success without running the filters; anything else goes to the wrapped handler unchanged, whose
  predicate filter retries a body that is not JSON. (It also hands the CDK the handler's back-off
  strategies behind one that logs each wait, see waits.py, and frees the rate-limit slot of a
  request that ended in an exception, see rate_limits.py.)

The Connector Builder edition (scripts/build_builder_manifest.py) keeps the plain decoder and the
wrapped handler alone: same behaviour, three parses per page.
"""
from __future__ import annotations

from dataclasses import InitVar, dataclass, field
from typing import Any, Generator, List, Mapping, MutableMapping, Optional, Union

import orjson
import requests

from airbyte_cdk.sources.declarative.decoders.json_decoder import JsonDecoder
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy, ErrorHandler
from airbyte_cdk.sources.streams.http.error_handlers.response_models import SUCCESS_RESOLUTION, ErrorResolution

from source_sentry.rate_limits import request_ended_without_answer
from source_sentry.waits import AnnouncedBackoff

_PARSED = "_source_sentry_parsed_body"
_NOT_JSON = object()
_UNPARSED = object()


def parsed_body(response: requests.Response) -> Any:
    """The body as parsed JSON, parsed on first use and kept on the response; _NOT_JSON if it is not JSON."""
    body = response.__dict__.get(_PARSED, _UNPARSED)
    if body is _UNPARSED:
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = _NOT_JSON
        response.__dict__[_PARSED] = body
    return body


class JsonPageDecoder(JsonDecoder):
    """JsonDecoder's contract (a list body yields its items; an empty or unparsable body yields one
    empty mapping) over the body parsed once. A JsonDecoder subclass, so the paginator accepts it."""

    def __init__(self, parameters: Optional[Mapping[str, Any]] = None) -> None:  # CustomDecoder passes no arguments
        super().__init__(parameters=parameters or {})

    def decode(self, response: requests.Response) -> Generator[MutableMapping[str, Any], None, None]:
        body = parsed_body(response)
        if isinstance(body, list) and body:
            yield from body
        elif isinstance(body, dict):
            yield body
        else:
            yield {}


@dataclass
class SuccessForJsonPages(ErrorHandler):
    """`error_handler` decides every response except a 200 whose body is JSON, which succeeds."""

    error_handler: ErrorHandler
    parameters: InitVar[Mapping[str, Any]]
    # true where the wrapped handler's filters judge JSON pages too (the explore handlers: a
    # sampled answer, a page at the offset cap); the not-JSON predicate then parses each page again
    judge_json_pages: bool = False
    _announced: Optional[AnnouncedBackoff] = field(default=None, init=False, repr=False)

    def interpret_response(self, response_or_exception: Optional[Union[requests.Response, Exception]]) -> ErrorResolution:
        if isinstance(response_or_exception, Exception):  # no answer: the budget never hears of it
            request_ended_without_answer()
        if (
            not self.judge_json_pages
            and isinstance(response_or_exception, requests.Response)
            and response_or_exception.status_code == 200
            and parsed_body(response_or_exception) is not _NOT_JSON
        ):
            return SUCCESS_RESOLUTION
        return self.error_handler.interpret_response(response_or_exception)

    @property
    def max_retries(self) -> Optional[int]:
        return self.error_handler.max_retries

    @property
    def max_time(self) -> Optional[int]:
        return self.error_handler.max_time

    @property
    def backoff_strategies(self) -> Optional[List[BackoffStrategy]]:
        """The wrapped handler's strategies, behind one that logs each wait (waits.py): this handler
        is the one place that knows them together with the retry budget they serve."""
        if self._announced is None:
            strategies = getattr(self.error_handler, "backoff_strategies", None)
            if not strategies:
                return strategies
            self._announced = AnnouncedBackoff(strategies, self.max_retries, self.max_time)
        return [self._announced]
