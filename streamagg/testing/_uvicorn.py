"""Running ``serve``'s app on uvicorn (the optional ``serve`` extra), hardened as a test double
that must survive a misbehaving client: a listening socket (``bind``), the server
(``make_server``) and the loop that runs it (``serve``)."""

from __future__ import annotations

import logging
import math
import socket
import time
from typing import Any

__all__ = ["HEADER_TIMEOUT", "MAX_CONNECTIONS", "bind", "make_server", "serve"]

#: How long a connection may take to send a request's headers (seconds): a client that opens
#: connections and sends nothing (or a byte at a time) cannot hold them.
HEADER_TIMEOUT = 10.0
#: Connections served at once; more are answered 503 by uvicorn.
MAX_CONNECTIONS = 512
_LOG_EVERY = 60.0


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (``port`` 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family)


def _header_timeout_protocol(timeout: float) -> type[Any]:
    """uvicorn's h11 protocol, closing a connection that has not sent a request's headers
    within ``timeout`` seconds (uvicorn itself waits forever for the first request's headers,
    so idle or trickling connections could exhaust the server's file descriptors)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: PLC0415 - optional extra

    class HeaderTimeoutH11Protocol(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._header_timer = self.loop.call_later(timeout, self._headers_too_slow)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._header_timer.cancel()  # the next request's headers get the same time
            self._header_timer = self.loop.call_later(timeout, self._headers_too_slow)

        def _headers_too_slow(self) -> None:
            if self.cycle is None or self.cycle.response_complete:
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._header_timer.cancel()
            super().connection_lost(exc)

    return HeaderTimeoutH11Protocol


class _OncePerMinute(logging.Filter):
    """Lets one error about accepting connections through per minute, not thousands: while
    file descriptors are exhausted, asyncio logs every failed accept and every retry it
    scheduled (and each retry again if the socket is closed meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self._last = -math.inf

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "accept" not in message and "_start_serving" not in message:
            return True
        now = time.monotonic()
        if now - self._last < _LOG_EVERY:
            return False
        self._last = now
        return True


class _CutByFault(logging.Filter):
    """Drops uvicorn's error for a response left incomplete: the app does that only when a
    fault cuts the stream, and its access line says so."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def _raise_open_files_limit() -> None:
    """Use the hard limit of open files, not the (often 1,024) soft one."""
    try:
        import resource  # noqa: PLC0415 - POSIX only

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, ValueError, OSError):
        pass  # not POSIX, or not allowed: keep what there is


def make_server(app: Any, *, header_timeout: float = HEADER_TIMEOUT) -> Any:
    """A uvicorn server for ``app``, an ASGI app such as ``ReplayApp`` (raises ImportError
    without the ``serve`` extra).

    Hardened as a test double that must survive a misbehaving client: headers within
    ``header_timeout`` seconds, idle keep-alive connections closed after 5 s, at most
    ``MAX_CONNECTIONS`` at once (more get a 503), the open-files limit raised to its maximum,
    and one log line per minute, not a flood, when file descriptors run out anyway.
    """
    import uvicorn  # noqa: PLC0415 - the optional ``serve`` extra, imported on use

    _raise_open_files_limit()
    logging.getLogger("asyncio").addFilter(_OncePerMinute())
    logging.getLogger("uvicorn.error").addFilter(_CutByFault())
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=5,
        limit_concurrency=MAX_CONNECTIONS,
        http=_header_timeout_protocol(header_timeout),
    )
    return uvicorn.Server(config)


def serve(app: Any, sock: socket.socket) -> None:
    """Serve ``app`` (an ASGI app: ``ReplayApp``) on ``sock`` with uvicorn until interrupted."""
    make_server(app).run(sockets=[sock])
