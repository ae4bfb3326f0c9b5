"""The test kit's errors: a request that a replay cannot answer is a test error.

They derive from ``BaseException``, not ``Exception``, as pytest's own outcomes do: the code
under test must not handle them. An SDK wraps an ``Exception`` raised by its HTTP client into
its own connection error and retries the request (the anthropic SDK does, twice, with a back-off,
so that a cassette counts three requests for one call), and an app's ``except Exception``
fallback would turn a missing recording into a passing test. Raised as they are, they reach the
test unchanged, and the pytest plugin reports them without the frames of the HTTP stack.

Their ``__module__`` is ``streamagg.testing``, where they are imported from, so that tracebacks
and ``pytest.raises`` messages name them by their public path.
"""

from __future__ import annotations

__all__ = ["NetworkForbiddenError", "RecordingMismatchError", "RecordingMissingError"]


class RecordingMissingError(BaseException):
    """A request has no recording, or none that can answer it: a test error (never an HTTP
    answer that app code could take for the server's). The message names the request and the
    recordings there are."""

    __module__ = "streamagg.testing"


class RecordingMismatchError(RecordingMissingError):
    """The request is not the one its recording was made for (the test changed it): the
    message holds a diff of the two and the command that records it again."""

    __module__ = "streamagg.testing"


class NetworkForbiddenError(BaseException):
    """A request tried to leave the process while a test replays its recordings."""

    __module__ = "streamagg.testing"
