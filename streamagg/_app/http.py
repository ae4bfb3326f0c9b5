"""The HTTP layer's rules: which responses carry a stream, the error for those that do not, and
the content codings of a body, undone in bounded pieces.

Only the app wrappers and the test kit import this module (the core needs no HTTP stack). It
works with either stack (``stack``): the classes it uses are those of the response it is given.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from .._core.errors import ContentTypeError, HTTPStatusError
from .stack import stack_of

if TYPE_CHECKING:
    from .stack import Request, Response

__all__ = [
    "DECODED_PIECE",
    "STREAM_CONTENT_TYPES",
    "Decoding",
    "HTTPStatusError",
    "content_type_error",
    "media_type",
    "status_error",
]

R = TypeVar("R")

#: Media types a stream may arrive with: an event stream, newline-delimited JSON (Ollama), or a
#: stream (or a whole JSON answer) labelled ``application/json`` (some proxies relabel
#: ``text/event-stream``). What the body really is, is decided from its bytes and the dialect
#: (``streamagg._core.reader``).
STREAM_CONTENT_TYPES = frozenset({"text/event-stream", "application/json", "application/x-ndjson"})


def status_error(
    response: Response, partial: R, content: bytes | None = None
) -> HTTPStatusError[R]:
    """The error for a non-2xx response: its body is ``content`` (what was read of it, up to
    ``Limits.max_error_body``), or the response's own when it has been read. Also the
    ``HTTPStatusError`` of the response's stack: ``except`` of either class catches it."""
    raw = response.content if content is None else content
    made: HTTPStatusError[R] = _of_stack(stack_of(response)).from_body(
        response.status_code,
        raw,
        partial=partial,
        reason=response.reason_phrase,
        encoding=response.encoding or "utf-8",
        request=response.request,
        response=response,
    )
    return made


@cache
def _of_stack(module: ModuleType) -> type[HTTPStatusError[Any]]:
    """``HTTPStatusError`` joined with the ``HTTPStatusError`` of the stack ``module`` (made
    once per stack): ``except`` of either class catches it. It shows as the public class."""
    joined: type[HTTPStatusError[Any]] = type(
        "HTTPStatusError",
        (HTTPStatusError, module.HTTPStatusError),
        {"__module__": HTTPStatusError.__module__, "__doc__": HTTPStatusError.__doc__},
    )
    return joined


def media_type(response: Response) -> str:
    """The response's media type, lower case, without parameters ("" when absent)."""
    header: str = response.headers.get("content-type", "")
    return header.partition(";")[0].strip().lower()


def content_type_error(response: Response, partial: R) -> ContentTypeError[R] | None:
    """The error for a 2xx response that carries no stream, or None when it may carry one."""
    media = media_type(response)
    if media in STREAM_CONTENT_TYPES:
        return None
    return ContentTypeError(
        f"expected an event stream (text/event-stream), NDJSON or JSON, got "
        f"{media or 'no content type'!r} with status {response.status_code}",
        content_type=media,
        partial=partial,
    )


# -- content codings ------------------------------------------------------------------------
#
# A stack undoes a body's content coding for ``iter_bytes``; httpx does it a whole read at a
# time, so one read of a gzip bomb (about 1,000 to 1 compressed) becomes a gigabyte before the
# reader sees a byte, and no limit applies. So streamagg reads the raw bytes and undoes gzip and
# deflate itself, in pieces of at most ``DECODED_PIECE`` bytes, each handed to the reader (whose
# ``max_event_size`` and ``max_total_bytes`` count the decoded bytes) before the next is made.
# Other codings (br, zstd: the stack undoes them when brotli or zstandard is installed, and
# passes unknown ones through) are left to the stack.

#: The most bytes one decoded piece of a body holds.
DECODED_PIECE = 64 * 1024
#: The codings ``Decoding`` undoes (``identity`` is none).
_CODINGS = frozenset({"gzip", "deflate"})
#: The most codings one body may stack (httpx2's own bound): each holds a decompressor.
_MAX_CODINGS = 5


class _Inflate:
    """One gzip or deflate coding undone in pieces of at most ``DECODED_PIECE`` bytes, as the
    stacks read it: deflate is zlib-wrapped, or raw when that fails at once; bytes after the
    end of the compressed data are ignored."""

    def __init__(self, coding: str) -> None:
        self._deflate = coding == "deflate"
        self._first = True
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS if self._deflate else zlib.MAX_WBITS | 16)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._zlib.decompress(data, DECODED_PIECE)
            except zlib.error:
                if not (self._first and self._deflate):
                    raise
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)  # a raw deflate stream
                self._first = False
                continue
            self._first = False
            if out:
                yield out
            data = self._zlib.unconsumed_tail
            # A full piece may leave output pending even when all the input was taken; a
            # shorter one is all the output of the input (zlib inflates with Z_SYNC_FLUSH), so
            # nothing is left to flush at the end.
            if self._zlib.eof or (not data and len(out) < DECODED_PIECE):
                return


class Decoding:
    """A response body's content codings (gzip, deflate, identity), undone in pieces of at
    most ``DECODED_PIECE`` bytes (see above). A body that is not valid for its coding raises
    the stack's ``DecodingError``, as the stack would."""

    def __init__(self, request: Request, codings: list[str]) -> None:
        self._request = request
        self._module = stack_of(request)
        self._codings = ", ".join(codings)
        # Codings are listed in the order they were applied: undone last first.
        self._stages = [_Inflate(coding) for coding in reversed(codings)]

    @classmethod
    def of(cls, response: Response) -> Decoding | None:
        """The decoding of ``response``'s body; None when there is nothing to undo, or a
        coding other than gzip and deflate (the stack's to undo or to pass through)."""
        codings = [
            coding.strip().lower()
            for coding in response.headers.get_list("content-encoding", split_commas=True)
        ]
        codings = [coding for coding in codings if coding and coding != "identity"]
        if not codings or not set(codings) <= _CODINGS:
            return None
        if len(codings) > _MAX_CODINGS:
            raise stack_of(response).DecodingError(
                f"more than {_MAX_CODINGS} content codings: {', '.join(codings)}",
                request=response.request,
            )
        return cls(response.request, codings)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded pieces of raw body bytes ``data`` (all of them: nothing is held back
        for the end of the body)."""
        try:
            yield from self._through(data, 0)
        except zlib.error as exc:
            raise self._module.DecodingError(
                f"the body is not valid {self._codings}: {exc}", request=self._request
            ) from exc

    def _through(self, data: bytes, stage: int) -> Iterator[bytes]:
        if stage == len(self._stages):
            yield data
            return
        for piece in self._stages[stage].feed(data):
            yield from self._through(piece, stage + 1)
