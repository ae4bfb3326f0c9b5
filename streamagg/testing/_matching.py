"""What identifies a request, so that a recording answers only the request it was made for.

A recording's request is kept beside it (``NAME.request.json``): method, path and the JSON body
in canonical form (keys sorted) with volatile keys removed, and its digest. Credentials are
never kept: no headers at all, and query parameters that carry keys (``key``, ``api_key``...)
are dropped. Replaying compares the new request with the kept one; a change is reported as a
unified diff of the two, readable in a test failure.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable
from typing import Any

import httpx

__all__ = ["DEFAULT_VOLATILE_KEYS", "identity", "mismatch"]

#: Body keys whose values change between runs without changing the request's meaning.
DEFAULT_VOLATILE_KEYS = frozenset({"user", "metadata", "prompt_cache_key", "safety_identifier"})
# Query parameters that carry credentials (Gemini puts its key in the URL): never kept.
_SECRET_PARAMS = frozenset({"key", "api_key", "api-key", "apikey", "access_token", "token"})


def _canonical(value: Any, volatile: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v, volatile) for k, v in sorted(value.items()) if k not in volatile}
    if isinstance(value, list):
        return [_canonical(v, volatile) for v in value]
    return value


def identity(
    request: httpx.Request, volatile: Iterable[str] = DEFAULT_VOLATILE_KEYS
) -> dict[str, Any]:
    """What identifies ``request``: method, path (with its non-secret query), canonical body
    (volatile keys removed; a body that is not JSON kept as its digest only) and digest."""
    volatile = frozenset(volatile)
    params = request.url.params.multi_items()
    query = "&".join(f"{k}={v}" for k, v in params if k.lower() not in _SECRET_PARAMS)
    path = request.url.path + ("?" + query if query else "")
    try:
        body: Any = _canonical(json.loads(request.content or b"null"), volatile)
        text = json.dumps(body, sort_keys=True, ensure_ascii=False)
    except (ValueError, RecursionError):
        body = None
        text = request.content.decode("latin-1")
    digest = hashlib.sha256(f"{request.method} {path}\n{text}".encode()).hexdigest()
    return {"method": request.method, "path": path, "body": body, "digest": digest}


def mismatch(kept: dict[str, Any], now: dict[str, Any]) -> str | None:
    """None when the request is the one recorded; else a unified diff of the two."""
    if kept.get("digest") == now["digest"]:
        return None
    before = json.dumps(
        {k: kept.get(k) for k in ("method", "path", "body")}, indent=2, sort_keys=True
    )
    after = json.dumps({k: now[k] for k in ("method", "path", "body")}, indent=2, sort_keys=True)
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), "recorded request", "this request", lineterm=""
    )
    return "\n".join(lines)
