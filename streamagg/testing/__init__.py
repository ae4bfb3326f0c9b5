"""Replay, record and synthesize LLM streams (every dialect) in tests.

* ``ReplayTransport``: a transport (httpx2 and httpx, sync and async) that answers with
  recordings, in pieces, optionally with their recorded timing, and keeps the requests it
  received; a call gets what it asks for (a stream, or the JSON a non-streaming call returns).
* ``RecordingTransport`` (``record()``): wraps a live transport and writes each streaming
  response to a recording, byte for byte, with the arrival time of each event.
* ``synthesize()``: the realistic chunk stream, as SSE bytes, that folds to a given response.
* ``StreamCassette``: replays a test's recordings, recording the missing (or changed) ones on
  request (the pytest plugin's ``stream_cassette`` fixture); each recording keeps the request it
  answers, and another request fails with a diff (``RecordingMismatchError``). Requests are
  matched without ``DEFAULT_VOLATILE_KEYS`` and kept without credentials
  (``DEFAULT_SECRET_NAMES``); a cassette adds its own names to both.
* ``Faults``: the failures real streams have (a cut, an error event, a stall, re-chunked bytes,
  keep-alives, another speed), for ``ReplayTransport(faults=...)`` and ``serve``.

Recordings are event streams with timing comment lines (see ``streamagg.testing._format``).
"""

from ._cassette import RECORD_MODES, StreamCassette
from ._errors import NetworkForbiddenError, RecordingMismatchError, RecordingMissingError
from ._faults import Faults
from ._matching import DEFAULT_SECRET_NAMES, DEFAULT_VOLATILE_KEYS
from ._recording import RecordingTransport, record
from ._replay_transport import ReplayTransport
from ._synthesize import synthesize, synthesize_chunks

__all__ = [
    "DEFAULT_SECRET_NAMES",
    "DEFAULT_VOLATILE_KEYS",
    "RECORD_MODES",
    "Faults",
    "NetworkForbiddenError",
    "RecordingMismatchError",
    "RecordingMissingError",
    "RecordingTransport",
    "ReplayTransport",
    "StreamCassette",
    "record",
    "synthesize",
    "synthesize_chunks",
]
