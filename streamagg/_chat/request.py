"""``to_request_message()``: the folded message, as the next request's ``messages`` entry."""

from __future__ import annotations

from typing import Any

from .._core.merge import copy_json
from .models import Message

__all__ = ["ECHOED_KEYS", "to_request_message"]

#: Opaque message keys some providers require sent back unchanged on the next turn
#: (OpenRouter's ``reasoning_details``, which carries encrypted or signed reasoning).
ECHOED_KEYS = frozenset({"reasoning_details"})


def to_request_message(message: Message, *, include_reasoning: bool = False) -> dict[str, Any]:
    """The assistant message of a folded response as a plain dict for the next request.

    It has ``role``, ``content`` (None when the turn was only tool calls), ``tool_calls`` (id,
    type, name and arguments, plus the opaque extra keys a provider needs echoed back, such as
    a call's ``extra_content`` holding Gemini's thought signatures), a ``refusal``, the legacy
    ``function_call``, and the opaque message state providers require back (``ECHOED_KEYS``).
    Reasoning text (``reasoning_content``/``reasoning``) is left out unless
    ``include_reasoning``: some providers require it back, some reject it.
    """
    out: dict[str, Any] = {"role": message.role or "assistant", "content": message.content}
    if message.refusal is not None:
        out["refusal"] = message.refusal
    if message.tool_calls:
        out["tool_calls"] = [
            {
                **copy_json(call.extensions),
                "id": call.id,
                "type": call.type or "function",
                "function": {
                    **copy_json(call.function.extensions),
                    "name": call.function.name,
                    "arguments": call.function.arguments,
                },
            }
            for call in message.tool_calls
        ]
    if message.function_call is not None:
        out["function_call"] = {
            "name": message.function_call.name,
            "arguments": message.function_call.arguments,
        }
    if message.audio is not None and message.audio.id:
        out["audio"] = {"id": message.audio.id}  # OpenAI: the audio is referred to by id
    for key in ECHOED_KEYS:
        if key in message.extensions:
            out[key] = copy_json(message.extensions[key])
    if include_reasoning:
        for key in ("reasoning_content", "reasoning"):
            value = getattr(message, key)
            if value is not None:
                out[key] = value
    return out
