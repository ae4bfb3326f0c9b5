"""Fold the server-sent-event stream of an OpenAI-compatible chat completion into one response."""

from ._app import AsyncChatStream, ChatStream, achat, astream, chat, stream
from ._convert import from_dict, to_dict
from ._errors import (
    ContentTypeError,
    HTTPStatusError,
    IncompleteStreamError,
    MalformedChunkError,
    ResponseNotReadyError,
    StreamError,
    StreamInterruptedError,
    UpstreamError,
)
from ._fold import DEFAULT_TEXT_KEYS, Aggregator, fold
from ._http import EventSource, aconnect_sse, connect_sse
from ._models import (
    ChatCompletionResponse,
    Choice,
    ContentDelta,
    Delta,
    FinishDelta,
    FunctionCall,
    Logprobs,
    Message,
    ReasoningDelta,
    RefusalDelta,
    ToolCall,
    ToolCallArgumentsDelta,
    ToolCallStart,
    Usage,
    UsageDelta,
)
from ._replay import replay
from ._sse import SSEDecoder, parse_sse

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_TEXT_KEYS",
    "Aggregator",
    "AsyncChatStream",
    "ChatCompletionResponse",
    "ChatStream",
    "Choice",
    "ContentDelta",
    "ContentTypeError",
    "Delta",
    "EventSource",
    "FinishDelta",
    "FunctionCall",
    "HTTPStatusError",
    "IncompleteStreamError",
    "Logprobs",
    "MalformedChunkError",
    "Message",
    "ReasoningDelta",
    "RefusalDelta",
    "ResponseNotReadyError",
    "SSEDecoder",
    "StreamError",
    "StreamInterruptedError",
    "ToolCall",
    "ToolCallArgumentsDelta",
    "ToolCallStart",
    "UpstreamError",
    "Usage",
    "UsageDelta",
    "__version__",
    "achat",
    "aconnect_sse",
    "astream",
    "chat",
    "connect_sse",
    "fold",
    "from_dict",
    "parse_sse",
    "replay",
    "stream",
    "to_dict",
]
