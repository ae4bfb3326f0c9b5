"""Fold the server-sent-event stream of an OpenAI-compatible chat completion into one response.

The other dialects have their own modules: ``streamagg.responses`` (the OpenAI Responses API),
``streamagg.anthropic`` (Anthropic Messages), ``streamagg.gemini`` (Gemini), ``streamagg.ollama``
(Ollama's native NDJSON) and ``streamagg.completions`` (legacy text completions).

The core (models, converter, SSE decoder, fold, replay) needs no HTTP stack; the app layer
(``stream``, ``create`` (also named ``chat``), ``relay``, ``HTTPStatusError`` and their twins) is
imported on first use, and takes clients of httpx2 (the default dependency) or of httpx. The
layout and its layers: the README's Architecture section.
"""

import typing as _typing

from ._app.timing import DEFAULT_IDLE_TIMEOUT, Timings
from ._chat.api import afold, fold, from_dict, replay
from ._chat.events import (
    ContentDelta,
    Delta,
    FinishDelta,
    ReasoningDelta,
    RefusalDelta,
    ToolCallArgumentsDelta,
    ToolCallStart,
    UsageDelta,
)
from ._chat.fold import DEFAULT_PADDING_KEYS, DEFAULT_TEXT_KEYS, Aggregator
from ._chat.models import (
    Audio,
    ChatCompletionResponse,
    Choice,
    FunctionCall,
    Logprobs,
    Message,
    ToolCall,
    Usage,
)
from ._chat.request import to_request_message
from ._core.convert import to_dict
from ._core.errors import (
    ContentTypeError,
    HTTPStatusError,
    IncompleteStreamError,
    LimitExceededError,
    MalformedChunkError,
    ResponseNotReadyError,
    StreamError,
    StreamInterruptedError,
    StreamStalledError,
    UpstreamError,
)
from ._core.fold import Fold
from ._core.limits import DEFAULT_LIMITS, Limits
from ._core.partial import PartialJSON
from ._core.reader import StreamReader
from ._core.report import FoldReport, Skipped
from ._core.sse import SSEDecoder, parse_sse
from ._registry.detect import detect_dialect

if _typing.TYPE_CHECKING:
    from ._app.chat import (
        AsyncChatStream,
        ChatStream,
        achat,
        acreate,
        astream,
        chat,
        create,
        stream,
    )
    from ._app.relay import AsyncRelay, Relay, arelay, relay

__version__ = "0.1.0"

# The app layer, by the module that defines each name: loaded on first use (PEP 562).
_LAZY = {
    "AsyncChatStream": "_app.chat",
    "ChatStream": "_app.chat",
    "achat": "_app.chat",
    "acreate": "_app.chat",
    "astream": "_app.chat",
    "chat": "_app.chat",
    "create": "_app.chat",
    "stream": "_app.chat",
    "AsyncRelay": "_app.relay",
    "Relay": "_app.relay",
    "arelay": "_app.relay",
    "relay": "_app.relay",
}


# The dialect modules, loaded on first use (``streamagg.responses``...).
_DIALECT_MODULES = frozenset({"responses", "anthropic", "gemini", "ollama", "completions"})


def __getattr__(name: str) -> _typing.Any:
    from importlib import import_module  # noqa: PLC0415 - only when a lazy name is used

    if name in _DIALECT_MODULES:
        return import_module(f"streamagg.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'streamagg' has no attribute {name!r}")
    value = getattr(import_module(f"streamagg.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_LIMITS",
    "DEFAULT_PADDING_KEYS",
    "DEFAULT_TEXT_KEYS",
    "Aggregator",
    "AsyncChatStream",
    "AsyncRelay",
    "Audio",
    "ChatCompletionResponse",
    "ChatStream",
    "Choice",
    "ContentDelta",
    "ContentTypeError",
    "Delta",
    "FinishDelta",
    "Fold",
    "FoldReport",
    "FunctionCall",
    "HTTPStatusError",
    "IncompleteStreamError",
    "LimitExceededError",
    "Limits",
    "Logprobs",
    "MalformedChunkError",
    "Message",
    "PartialJSON",
    "ReasoningDelta",
    "RefusalDelta",
    "Relay",
    "ResponseNotReadyError",
    "SSEDecoder",
    "Skipped",
    "StreamError",
    "StreamInterruptedError",
    "StreamReader",
    "StreamStalledError",
    "Timings",
    "ToolCall",
    "ToolCallArgumentsDelta",
    "ToolCallStart",
    "UpstreamError",
    "Usage",
    "UsageDelta",
    "__version__",
    "achat",
    "acreate",
    "afold",
    "arelay",
    "astream",
    "chat",
    "create",
    "detect_dialect",
    "fold",
    "from_dict",
    "parse_sse",
    "relay",
    "replay",
    "stream",
    "to_dict",
    "to_request_message",
]
