"""The event-stream parser against the WHATWG rules, fed whole and split at every byte."""

from __future__ import annotations

import pytest
from httpx_sse import ServerSentEvent
from hypothesis import given
from hypothesis import strategies as st

from streamagg import SSEDecoder, parse_sse


def events(raw: bytes) -> list[tuple[str, str, str, int | None]]:
    return [(e.event, e.data, e.id, e.retry) for e in parse_sse(raw)]


def split_everywhere(raw: bytes) -> None:
    """Every split of ``raw`` into two reads, and byte-at-a-time, gives the same events."""
    whole = events(raw)
    for cut in range(len(raw) + 1):
        pieces = [raw[:cut], raw[cut:]]
        got = [(e.event, e.data, e.id, e.retry) for e in parse_sse(pieces)]
        assert got == whole, cut
    one_by_one = [raw[i : i + 1] for i in range(len(raw))]
    assert [(e.event, e.data, e.id, e.retry) for e in parse_sse(one_by_one)] == whole


def test_whatwg_example_stock_ticker() -> None:
    """The spec's first example: multi-line data joins with LF, ids carry over."""
    raw = b"data: YHOO\ndata: +2\ndata: 10\n\n"
    assert events(raw) == [("message", "YHOO\n+2\n10", "", None)]


def test_whatwg_example_comment_and_ids() -> None:
    """The spec's second example: a comment, ids, and an id reset by an empty ``id``."""
    raw = (
        b": test stream\n\n"
        b"data: first event\nid: 1\n\n"
        b"data:second event\nid\n\n"
        b"data:  third event\n\n"
    )
    assert events(raw) == [
        ("message", "first event", "1", None),
        ("message", "second event", "", None),
        ("message", " third event", "", None),
    ]


def test_whatwg_example_empty_data_lines() -> None:
    """The spec's third example: ``data`` with no colon is an empty line of data."""
    raw = b"data\n\ndata\ndata\n\ndata:\n"
    assert events(raw) == [("message", "", "", None), ("message", "\n", "", None)]


def test_whatwg_example_space_after_colon() -> None:
    """The spec's fourth example: one leading space is stripped, only one."""
    raw = b"data:test\n\ndata: test\n\n"
    assert events(raw) == [("message", "test", "", None), ("message", "test", "", None)]
    assert events(b"data:  two\n\n") == [("message", " two", "", None)]


@pytest.mark.parametrize("eol", [b"\n", b"\r", b"\r\n"])
def test_line_endings_cr_lf_crlf(eol: bytes) -> None:
    """CR, LF and CRLF each end a line, even when a CRLF is split across two reads."""
    raw = b"event: a" + eol + b"data: 1" + eol + eol + b"data: 2" + eol + eol
    assert events(raw) == [("a", "1", "", None), ("message", "2", "", None)]
    split_everywhere(raw)


def test_mixed_line_endings() -> None:
    """Line endings may be mixed within one stream."""
    raw = b"data: a\r\ndata: b\rdata: c\n\r\n"
    assert events(raw) == [("message", "a\nb\nc", "", None)]
    split_everywhere(raw)


def test_crlf_split_is_not_a_blank_line() -> None:
    """A CR at the end of one read and an LF at the start of the next are one line end."""
    got = list(parse_sse([b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]))
    assert [e.data for e in got] == ["a\nb"]


def test_bom_stripped_once() -> None:
    """One leading U+FEFF is ignored; a second one is part of the first field name."""
    assert events(b"\xef\xbb\xbfdata: x\n\n") == [("message", "x", "", None)]
    assert events(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n") == []
    split_everywhere(b"\xef\xbb\xbfdata: x\n\n")


def test_bom_only_at_stream_start() -> None:
    """A U+FEFF later in the stream is data, not a BOM."""
    assert events(b"data: \xef\xbb\xbfx\n\n") == [("message", "\ufeffx", "", None)]


def test_always_utf8_invalid_bytes_replaced() -> None:
    """Streams are always UTF-8; invalid bytes become U+FFFD instead of failing."""
    assert events("data: héllo €\n\n".encode()) == [("message", "héllo €", "", None)]
    assert events(b"data: a\xffb\n\n") == [("message", "a\ufffdb", "", None)]
    split_everywhere("data: 日本語 ✓\n\n".encode())


def test_comments_ignored() -> None:
    """Lines starting with a colon are comments (OpenRouter sends them as keep-alives)."""
    raw = b": OPENROUTER PROCESSING\n\n:\ndata: x\n: inside\n\n"
    assert events(raw) == [("message", "x", "", None)]


def test_field_without_colon() -> None:
    """A line with no colon is a field name with an empty value."""
    assert events(b"event\ndata\n\n") == [("message", "", "", None)]


def test_unknown_fields_ignored() -> None:
    """Unknown field names are ignored."""
    assert events(b"foo: bar\ndata: x\nData: y\n\n") == [("message", "x", "", None)]


def test_no_dispatch_when_data_empty() -> None:
    """A block with only ``event``/``id``/``retry`` dispatches nothing (httpx-sse 0.4.3 does)."""
    raw = b"event: ping\nid: 7\nretry: 100\n\ndata: x\n\n"
    assert events(raw) == [("message", "x", "7", 100)]


def test_event_type_reset_after_block() -> None:
    """The event type buffer is cleared by a blank line even when nothing was dispatched."""
    assert events(b"event: a\n\ndata: x\n\n") == [("message", "x", "", None)]


def test_id_with_nul_ignored() -> None:
    """An ``id`` containing NUL does not change the last event id."""
    raw = b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"
    assert events(raw) == [("message", "a", "1", None), ("message", "b", "1", None)]


def test_id_is_stream_state() -> None:
    """The last event id persists across events, including one set in a block without data."""
    raw = b"id: 5\n\ndata: a\n\ndata: b\nid: 6\n\ndata: c\n\n"
    assert [e.id for e in parse_sse(raw)] == ["5", "6", "6"]


def test_retry_only_ascii_digits() -> None:
    """``retry`` is set only by a value of ASCII digits; the rest are ignored."""
    for bad in (b"", b"1.5", b"-1", b"+1", b"  1", b"1 ", b"1_0", "\u0661".encode(), b"1a"):
        raw = b"retry: 5\n\nretry:" + bad + b"\ndata: x\n\n"
        assert [e.retry for e in parse_sse(raw)] == [5], bad


def test_retry_is_stream_state() -> None:
    """The reconnection time stays in force for later events (httpx-sse 0.4.3 forgets it)."""
    raw = b"retry: 3000\n\ndata: a\n\ndata: b\n\nretry: 10\ndata: c\n\n"
    assert [e.retry for e in parse_sse(raw)] == [3000, 3000, 10]
    decoder = SSEDecoder()
    decoder.feed(raw)
    assert decoder.retry == 10


def test_unfinished_event_at_eof_discarded() -> None:
    """An event without its blank line when the input ends is not dispatched."""
    assert events(b"data: a\n\ndata: b\n") == [("message", "a", "", None)]
    assert events(b"data: a\n\ndata: b") == [("message", "a", "", None)]
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n") == []
    assert decoder.close() == []


def test_decoder_feed_returns_server_sent_events() -> None:
    """The sans-IO decoder returns httpx-sse events as soon as their blank line arrives."""
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 1\nevent: e\ndata: {") == []
    (event,) = decoder.feed(b"}\n\n")
    assert isinstance(event, ServerSentEvent)
    assert (event.event, event.data, event.id, event.retry) == ("e", "{}", "1", None)
    assert decoder.last_event_id == "1"


def test_long_line_in_many_pieces() -> None:
    """A long line fed in small pieces is reassembled."""
    payload = b"x" * 100_000
    raw = b"data: " + payload + b"\n\n"
    pieces = [raw[i : i + 7] for i in range(0, len(raw), 7)]
    (event,) = parse_sse(pieces)
    assert event.data == payload.decode()


def test_source_types() -> None:
    """``parse_sse`` takes bytes, bytearray, memoryview or an iterable of pieces."""
    raw = b"data: x\n\n"
    for source in (raw, bytearray(raw), memoryview(raw), iter([raw[:3], raw[3:]])):
        assert [e.data for e in parse_sse(source)] == ["x"]


_field_lines = st.sampled_from(
    [b"data: a", b"data:b", b"data", b"event: e", b"id: 1", b"id", b"retry: 9", b": c", b""]
)
_eols = st.sampled_from([b"\n", b"\r", b"\r\n"])


@given(st.lists(st.tuples(_field_lines, _eols), max_size=12), st.data())
def test_any_split_gives_same_events(
    lines: list[tuple[bytes, bytes]], data: st.DataObject
) -> None:
    """Property: any stream, split at any offsets, parses to the same events as when whole."""
    raw = b"".join(line + eol for line, eol in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert [(e.event, e.data, e.id, e.retry) for e in parse_sse(pieces)] == events(raw)


def reference(raw: bytes) -> list[tuple[str, str, str, int | None]]:
    """The spec's algorithm transcribed line by line, for the whole input at once: the
    independent account the decoder's fast paths are checked against."""
    text = raw.decode("utf-8", "replace")
    text = text.removeprefix("\ufeff")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines.pop()  # what follows the last line end is not a line
    out: list[tuple[str, str, str, int | None]] = []
    data, kind, last_id, retry = "", "", "", None
    for line in lines:
        if not line:
            if data:
                out.append((kind or "message", data.removesuffix("\n"), last_id, retry))
            data, kind = "", ""
            continue
        if line.startswith(":"):
            continue
        name, colon, value = line.partition(":")
        value = value.removeprefix(" ") if colon else ""
        if name == "data":
            data += value + "\n"
        elif name == "event":
            kind = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            retry = int(value)
    return out


_hot_lines = st.sampled_from(
    [
        *(b"data: {}", b'data: {"a":1}', b"data: ", b"data:x", b"data: [DONE]"),
        *(b"event: e", b"event: ", b"id: 7", b"retry: 5", b": ping", b"", b"", b""),
    ]
)


@given(st.lists(st.tuples(_hot_lines, _eols), max_size=16), st.data())
def test_fast_paths_agree_with_the_spec(
    lines: list[tuple[bytes, bytes]], data: st.DataObject
) -> None:
    """Property: streams in the shapes the fast paths take (one ``data:`` line an event, an
    ``event:`` line and a ``data:`` line, blank lines in runs, events cut across reads) parse,
    whole and split anywhere, to what the spec's algorithm gives; ``feed_data`` gives the same
    events (its bare strings being unnamed events)."""
    raw = b"".join(line + eol for line, eol in lines)
    want = reference(raw)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(raw)), max_size=6)))
    pieces = [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]
    assert [(e.event, e.data, e.id, e.retry) for e in parse_sse(pieces)] == want
    decoder = SSEDecoder()
    items = [item for piece in pieces for item in decoder.feed_data(piece)]
    got = [item[:2] if isinstance(item, tuple) else ("message", item) for item in items]
    assert got == [event[:2] for event in want]


def test_feed_data_items_on_every_path() -> None:
    """``feed_data`` gives an unnamed event as its data alone and a named one as a tuple, on
    the fast path (whole events), the general path (an event cut across reads) and both."""
    plain = b"data: a\n\ndata: b\n\n"
    assert SSEDecoder().feed_data(plain) == ["a", "b"]
    mixed = b"data: a\n\nevent: e\ndata: b\n\nid: 1\ndata: c\n\n: ping\ndata: d\ndata: e\n\n"
    want = ["a", ("e", "b", "", None), "c", "d\ne"]
    assert SSEDecoder().feed_data(mixed) == want
    for cut in range(len(mixed) + 1):
        decoder = SSEDecoder()
        assert decoder.feed_data(mixed[:cut]) + decoder.feed_data(mixed[cut:]) == want, cut


def test_feed_raw_ids_as_dispatched_within_one_read() -> None:
    """``feed_raw`` gives each event the id and retry in force when it was dispatched, also
    when they change between two events of one read."""
    raw = b"data: a\n\nid: 1\ndata: b\n\ndata: c\n\nretry: 5\n\ndata: d\n\n"
    assert SSEDecoder().feed_raw(raw) == [
        ("message", "a", "", None),
        ("message", "b", "1", None),
        ("message", "c", "1", None),
        ("message", "d", "1", 5),
    ]


def test_close_raw_gives_the_event_the_end_cut_off() -> None:
    """``close_raw`` dispatches the event whose blank line never came, with its id."""
    decoder = SSEDecoder()
    assert decoder.feed_data(b"id: 3\ndata: {}\n\nevent: e\ndata: x") == ["{}"]
    assert decoder.close_raw() == [("e", "x", "3", None)]
    decoder = SSEDecoder()
    assert decoder.feed_data(b"data: x\r") == []
    assert decoder.close_raw() == [("message", "x", "", None)]


def test_limit_feed_raises_at_once_feed_raw_after_the_events_before_it() -> None:
    """Past ``max_event_size``: ``feed`` raises as soon as the bytes arrive; ``feed_raw``
    returns the events completed before the long line and raises on the next call."""
    from streamagg import LimitExceededError

    with pytest.raises(LimitExceededError, match="max_event_size=50"):
        SSEDecoder(max_event_size=50).feed(b"data: " + b"x" * 60 + b"\n\n")
    decoder = SSEDecoder(max_event_size=50)
    events = decoder.feed_raw(b"data: first\n\ndata: " + b"x" * 60 + b"\n\ndata: third\n\n")
    assert [e[1] for e in events] == ["first"]
    assert decoder.failure is not None
    assert decoder.failure.partial is None
    with pytest.raises(LimitExceededError):
        decoder.feed_raw(b"data: more\n\n")
    with pytest.raises(LimitExceededError):
        decoder.close()
