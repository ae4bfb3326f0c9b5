"""Content codings in the app layer (``streamagg._app.http.Decoding``, issue 21): a gzip- or
deflate-coded body is read raw and undone in pieces of at most ``DECODED_PIECE`` bytes, each
folded before the next is made, so a gzip bomb is stopped by ``Limits`` (``max_total_bytes``,
``max_event_size``) with bounded memory (measured with ``tracemalloc``, never timed) in
``stream()`` and ``relay()``, sync and async, over both stacks. Codings streamagg does not undo
are the stack's."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import anyio
import attrs
import pytest

import streamagg
from streamagg._app.http import DECODED_PIECE, Decoding

from .helpers import PAYLOAD, STREAMS
from .stacks import STACK_NAMES, TWINS, body, stack_param, transport

PLAIN = (STREAMS / "openai-python__plain-content.sse").read_bytes()
URL = "http://api.test/v1/chat/completions"
SSE = {"content-type": "text/event-stream"}


@pytest.fixture(params=STACK_NAMES)
def stack(request: pytest.FixtureRequest) -> ModuleType:
    """The module of one HTTP stack."""
    return stack_param(request)


def deflate(data: bytes, wbits: int) -> bytes:
    """``data`` compressed as zlib (``wbits`` 15), raw deflate (-15) or gzip (31)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(data) + packer.flush()


#: Each coding (as the header says it), and how the body is coded for it.
CODINGS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": lambda data: deflate(data, zlib.MAX_WBITS),
    "GZip ": gzip.compress,
    "identity, gzip": gzip.compress,
    "gzip, deflate": lambda data: deflate(gzip.compress(data), zlib.MAX_WBITS),
}


def coded(module: ModuleType, data: bytes, coding: str, size: int = 7, **kw: Any) -> Any:
    """A transport of ``module`` streaming ``data`` with ``content-encoding: coding``."""

    def answer(request: Any) -> Any:
        headers = {**SSE, "content-encoding": coding}
        return module.Response(200, headers=headers, stream=body(module, data, size, **kw))

    return transport(module, answer)


def folded(twin: str, module: ModuleType, mock: Any, **options: Any) -> Any:
    """``stream()`` (or ``astream()``) over a client of ``module``: the folded response; a
    stream error is raised."""
    if twin == "sync":
        with (
            module.Client(transport=mock) as client,
            streamagg.stream(client, "POST", URL, json=PAYLOAD, **options) as s,
        ):
            return s.finish()

    async def main() -> Any:
        async with (
            module.AsyncClient(transport=mock) as client,
            streamagg.astream(client, "POST", URL, json=PAYLOAD, **options) as s,
        ):
            return await s.finish()

    return anyio.run(main)


@attrs.frozen
class Relayed:
    """What a relay did: the bytes it forwarded (when kept), how many, and the response and
    error ``on_finish`` was called with (once)."""

    forwarded: bytes
    size: int
    response: Any
    error: Any


def relayed(
    twin: str, module: ModuleType, mock: Any, keep: bool = True, **options: Any
) -> Relayed:
    """``relay()`` (or ``arelay()``) over a client of ``module`` (the bytes it forwards are
    only counted when not ``keep``)."""
    finished: list[Any] = []
    kept: list[bytes] = []
    size = 0

    def forward(piece: bytes) -> None:
        nonlocal size
        size += len(piece)
        if keep:
            kept.append(piece)

    def on_finish(response: Any, error: Any) -> None:
        finished.append((response, error))

    def opened(client: Any, relay: Callable[..., Any]) -> Any:
        return relay(client, "POST", URL, json=PAYLOAD, on_finish=on_finish, **options)

    if twin == "sync":
        with module.Client(transport=mock) as client:
            for piece in opened(client, streamagg.relay):
                forward(piece)
    else:

        async def main() -> None:
            async with module.AsyncClient(transport=mock) as client:
                async for piece in opened(client, streamagg.arelay):
                    forward(piece)

        anyio.run(main)
    [(response, error)] = finished
    return Relayed(b"".join(kept), size, response, error)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("coding", sorted(CODINGS))
def test_gzip_and_deflate_are_undone(stack: ModuleType, twin: str, coding: str) -> None:
    """A coded body (gzip, deflate, both, any case and spacing) folds as the plain one, and
    the relay forwards it decoded."""
    data = CODINGS[coding](PLAIN)
    assert folded(twin, stack, coded(stack, data, coding)) == streamagg.replay(PLAIN)
    relay = relayed(twin, stack, coded(stack, data, coding))
    assert (relay.forwarded, relay.error) == (PLAIN, None)
    assert relay.response == streamagg.replay(PLAIN)


@pytest.mark.parametrize("twin", TWINS)
def test_raw_deflate_is_read_as_the_stacks_read_it(stack: ModuleType, twin: str) -> None:
    """``deflate`` sent without its zlib wrapper (as some servers do) is read all the same."""
    data = deflate(PLAIN, -zlib.MAX_WBITS)
    assert folded(twin, stack, coded(stack, data, "deflate")) == streamagg.replay(PLAIN)


def test_a_body_read_before_the_stream_is_not_decoded_twice(stack: ModuleType) -> None:
    """A response made with its whole content (which the stack decodes at once) folds."""

    def answer(request: Any) -> Any:
        headers = {**SSE, "content-encoding": "gzip"}
        return stack.Response(200, headers=headers, content=gzip.compress(PLAIN))

    assert folded("sync", stack, transport(stack, answer)) == streamagg.replay(PLAIN)


@pytest.mark.parametrize("twin", TWINS)
def test_a_coding_streamagg_does_not_undo_is_the_stacks(stack: ModuleType, twin: str) -> None:
    """A coding other than gzip and deflate is left to the stack (which passes one it does
    not know through, as here)."""
    mock = coded(stack, PLAIN, "x-unknown")
    assert folded(twin, stack, mock) == streamagg.replay(PLAIN)
    assert Decoding.of(stack.Response(200, headers={"content-encoding": "br"})) is None
    assert Decoding.of(stack.Response(200, headers={"content-encoding": "identity"})) is None


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize(
    ("data", "coding", "message"),
    [
        (b"data: not gzip at all\n\n", "gzip", "not valid gzip"),
        (gzip.compress(PLAIN), ", ".join(["gzip"] * 6), "more than 5 content codings"),
    ],
    ids=["not-gzip", "six-codings"],
)
def test_a_body_that_does_not_decode_is_interrupted(
    stack: ModuleType, twin: str, data: bytes, coding: str, message: str
) -> None:
    """A body that is not valid for its coding, or stacks more than five codings, raises
    ``StreamInterruptedError`` caused by the stack's ``DecodingError``, in ``stream()`` and in
    the relay."""
    with pytest.raises(streamagg.StreamInterruptedError, match=message) as info:
        folded(twin, stack, coded(stack, data, coding))
    assert isinstance(info.value.__cause__, stack.DecodingError)
    error = relayed(twin, stack, coded(stack, data, coding)).error
    assert isinstance(error, streamagg.StreamInterruptedError)
    assert isinstance(error.__cause__, stack.DecodingError)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize(
    ("content", "detail"),
    [(gzip.compress(b'{"error": {"message": "bad key"}}'), "bad key"), (b"\x1f\x8bjunk", "")],
    ids=["gzip", "broken"],
)
def test_a_coded_error_body_is_read_decoded(
    stack: ModuleType, twin: str, content: bytes, detail: str
) -> None:
    """An error answer's gzip body is decoded for the error's message; one that does not
    decode gives the status with what could be read."""

    def answer(request: Any) -> Any:
        headers = {"content-type": "application/json", "content-encoding": "gzip"}
        return stack.Response(401, headers=headers, stream=body(stack, content))

    with pytest.raises(streamagg.HTTPStatusError) as info:
        folded(twin, stack, transport(stack, answer))
    assert info.value.status_code == 401
    assert f"HTTP 401 Unauthorized: {detail or 'Unauthorized'}" in str(info.value)


# -- gzip bombs -------------------------------------------------------------------------------

_MIB = 1024 * 1024
#: The most a bounded read may allocate here: the old reads (a whole raw read decoded at
#: once) peaked at 4.8 MB (httpx2, 1 MiB pieces) to 25 MB (httpx).
BOUND = 2_000_000


def bomb(line: bytes, mib: int) -> bytes:
    """``line`` repeated to ``mib`` MiB, gzip-compressed (about 1,000 to 1; made in pieces)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = line * (_MIB // len(line))
    pieces = [packer.compress(block) for _ in range(mib)]
    return b"".join([*pieces, packer.flush()])


#: Keep-alive comments, each an event; comment lines that never end an event; a line that
#: never ends. Each stops at a limit well before its end.
COMMENTS = bomb(b": keep-alive, nothing to see here\n\n", 48)
UNENDED = bomb(b": a comment line, and never the blank line that ends an event\n", 2)
ENDLESS = bomb(b"x" * 1024, 48)


def peak_of(run: Callable[[], Any]) -> tuple[Any, int]:
    """What ``run()`` returned (or the stream error it raised) and the most memory it held."""
    tracemalloc.start()
    try:
        try:
            outcome = run()
        except streamagg.StreamError as exc:
            outcome = exc
        return outcome, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("via", ["stream", "relay"])
def test_a_gzip_bomb_stops_at_max_total_bytes_in_bounded_memory(
    stack: ModuleType, twin: str, via: str
) -> None:
    """48 MiB of comments in 150 KB of gzip, read in 16 KiB raw pieces: the decoded bytes
    count against ``max_total_bytes`` (``LimitExceededError`` with the partial response)
    and never more than a piece or so is held."""
    limits = streamagg.Limits(max_total_bytes=_MIB)
    mock = coded(stack, COMMENTS, "gzip", size=16_384)
    if via == "stream":
        error, peak = peak_of(lambda: folded(twin, stack, mock, limits=limits))
    else:
        relaying = lambda: relayed(twin, stack, mock, keep=False, limits=limits)  # noqa: E731
        relay, peak = peak_of(relaying)
        error = relay.error
    assert isinstance(error, streamagg.LimitExceededError)
    assert error.limit == "max_total_bytes"
    assert isinstance(error.partial, streamagg.ChatCompletionResponse)
    assert peak < BOUND


def test_a_gzip_bomb_line_stops_at_max_event_size(stack: ModuleType) -> None:
    """One line that never ends, inflated: ``max_event_size`` stops it, holding about that."""
    limits = streamagg.Limits(max_event_size=_MIB)
    mock = coded(stack, ENDLESS, "gzip", size=16_384)
    error, peak = peak_of(lambda: folded("sync", stack, mock, limits=limits))
    assert isinstance(error, streamagg.LimitExceededError)
    assert error.limit == "max_event_size"
    assert peak < limits.max_event_size + BOUND


def test_a_gzip_bomb_of_comments_is_read_in_bounded_memory_without_limits(
    stack: ModuleType,
) -> None:
    """With the default limits (no ``max_total_bytes``) 8 MiB of comment lines are read to
    their end (the stream then has no chunk) in bounded memory, blank lines or none."""
    for line in (b": keep-alive\n\n", b": no blank line\n"):
        mock = coded(stack, bomb(line, 8), "gzip", size=16_384)
        error, peak = peak_of(lambda: folded("sync", stack, mock))  # noqa: B023 - called here
        assert isinstance(error, streamagg.IncompleteStreamError)
        assert peak < BOUND


@pytest.mark.parametrize("twin", TWINS)
def test_the_relay_holds_an_unended_event_up_to_max_event_size(
    stack: ModuleType, twin: str
) -> None:
    """The relay forwards whole events, so it holds one until its blank line: comment lines
    that never end one are held up to ``max_event_size``, then forwarded as they are so far
    (they were held without bound, then forwarded at the end)."""
    limits = streamagg.Limits(max_event_size=256 * 1024)
    mock = coded(stack, UNENDED, "gzip", size=16_384)
    relaying = lambda: relayed(twin, stack, mock, keep=False, limits=limits)  # noqa: E731
    relay, peak = peak_of(relaying)
    assert relay.size == 2 * (_MIB - _MIB % 62)  # all of it
    assert isinstance(relay.error, streamagg.IncompleteStreamError)  # not a chunk in it
    assert relay.response == streamagg.ChatCompletionResponse()
    assert peak < 2 * limits.max_event_size + BOUND


def test_decoded_pieces_are_bounded() -> None:
    """Each piece ``Decoding`` gives is at most ``DECODED_PIECE`` bytes, however much one raw
    read inflates to, and together they are the whole body."""
    httpx2 = pytest.importorskip("httpx2")
    response = httpx2.Response(
        200,
        headers={"content-encoding": "gzip, deflate"},
        request=httpx2.Request("GET", URL),
    )
    decoding = Decoding.of(response)
    assert decoding is not None
    data = b"data: x\n\n" * 100_000
    sizes = [len(piece) for piece in decoding.feed(deflate(gzip.compress(data), 15))]
    assert max(sizes) <= DECODED_PIECE
    assert sum(sizes) == len(data)
