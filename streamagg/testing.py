"""Replay, record and synthesize chat-completion streams in tests.

* ``ReplayTransport``: an httpx transport (sync and async) that answers with recordings, in
  pieces, optionally with their recorded timing, and keeps the requests it received.
* ``RecordingTransport`` (``record()``): wraps a live transport and writes each streaming
  response to a recording, byte for byte, with the arrival time of each event.
* ``synthesize()``: the realistic chunk stream, as SSE bytes, that folds to a given response.
* ``StreamCassette``: replays a test's recordings, recording the missing ones on request (the
  pytest plugin's ``stream_cassette`` fixture).

Recordings are event streams with timing comment lines (see ``streamagg._recording``).
"""

from ._cassette import RECORD_MODES, RecordingMissingError, StreamCassette
from ._recording import RecordingTransport, record
from ._replay_transport import ReplayTransport
from ._synthesize import synthesize, synthesize_chunks

__all__ = [
    "RECORD_MODES",
    "RecordingMissingError",
    "RecordingTransport",
    "ReplayTransport",
    "StreamCassette",
    "record",
    "synthesize",
    "synthesize_chunks",
]
