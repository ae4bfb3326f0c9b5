"""What identifies a request, so that a recording answers only the request it was made for.

A recording's request is kept beside it (``NAME.request.json``): method, path and the JSON body
in canonical form (keys sorted) with volatile keys removed, and its digest. Credentials are
never kept: no headers at all; query parameters named like a credential are dropped, and body
fields named like one keep ``"[redacted]"`` in place of their value (the digest is taken after,
so a new key does not change the request). Replaying compares the new request with the kept
one; a change is reported as a unified diff of the two, readable in a test failure.

A name is a credential's (``is_secret``) when it is on ``DEFAULT_SECRET_NAMES`` or on the names
a cassette adds (``StreamCassette(secret_names=...)``; ``deny_list`` gives both), or ends like
one (``openai_api_key``, ``client_secret``), compared without case and without separators:
``api_key``, ``API-Key``, ``apiKey`` and ``apikey`` are one name (``secret_name``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._app.stack import stack_of

if TYPE_CHECKING:
    from .._app.stack import URL, Request

__all__ = [
    "DEFAULT_SECRET_NAMES",
    "DEFAULT_VOLATILE_KEYS",
    "REDACTED",
    "deny_list",
    "identity",
    "is_secret",
    "mismatch",
    "redacted_url",
    "secret_name",
]

#: Body keys whose values change between runs without changing the request's meaning.
DEFAULT_VOLATILE_KEYS = frozenset({"user", "metadata", "prompt_cache_key", "safety_identifier"})

#: Names of query parameters and body fields that carry credentials, in the form
#: ``secret_name`` gives (lower case, no separators). API keys and tokens as providers and
#: gateways name them (Gemini's ``key``, Azure's ``subscription-key`` and ``sig``, OAuth's
#: ``code`` and ``access_token``, signed URLs' ``signature``, ``x-amz-security-token``...).
DEFAULT_SECRET_NAMES = frozenset(
    {
        "key",
        "apikey",
        "xapikey",
        "apitoken",
        "apisecret",
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "authtoken",
        "sessiontoken",
        "securitytoken",
        "xamzsecuritytoken",
        "xamzsignature",
        "xamzcredential",
        "xgoogsignature",
        "xgoogcredential",
        "bearer",
        "auth",
        "authorization",
        "code",
        "sig",
        "signature",
        "sastoken",
        "subscriptionkey",
        "ocpapimsubscriptionkey",
        "secret",
        "clientsecret",
        "password",
        "passwd",
        "pwd",
        "credential",
        "credentials",
        "privatekey",
        "session",
        "sessionid",
        "jwt",
    }
)

# Endings that make any name a credential's (``openai_api_key``, ``client_secret``,
# ``github_access_token``); the bare words ``token`` or ``key`` end too many harmless names
# (``eos_token``, ``prompt_cache_key``) to be endings, so they only count whole.
_SECRET_ENDINGS = (
    "apikey",
    "secret",
    "password",
    "accesstoken",
    "authtoken",
    "sessiontoken",
    "subscriptionkey",
)

#: What a body field named like a credential keeps in place of its value.
REDACTED = "[redacted]"

_SEPARATORS = re.compile(r"[-_.\s]")


def secret_name(name: str) -> str:
    """A name as the deny-list compares it: lower case, without ``-``, ``_``, ``.`` or
    spaces (``"X-API-Key"`` and ``"x_api_key"`` both give ``"xapikey"``)."""
    return _SEPARATORS.sub("", name).lower()


def is_secret(name: str, secrets: frozenset[str]) -> bool:
    """Whether ``name`` is a credential's: on ``secrets`` (``deny_list(...)``), or ending in
    ``api_key``, ``secret``, ``password``, ``access_token``... (as ``secret_name`` writes
    them)."""
    normal = secret_name(name)
    return normal in secrets or normal.endswith(_SECRET_ENDINGS)


def deny_list(extra: Iterable[str] = ()) -> frozenset[str]:
    """``DEFAULT_SECRET_NAMES`` and the names in ``extra``, each as ``secret_name`` gives it."""
    return DEFAULT_SECRET_NAMES | {secret_name(name) for name in extra}


_DEFAULT_SECRETS = deny_list()


def _canonical(value: Any, volatile: frozenset[str], secrets: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {
            key: _redacted(item, volatile, secrets)
            if is_secret(key, secrets)
            else _canonical(item, volatile, secrets)
            for key, item in sorted(value.items())
            if key not in volatile
        }
    if isinstance(value, list):
        return [_canonical(v, volatile, secrets) for v in value]
    return value


def _redacted(value: Any, volatile: frozenset[str], secrets: frozenset[str]) -> Any:
    """The value of a field named like a credential: a credential is a string or a number,
    hidden; an object under such a name (a JSON schema's ``code`` property, a tool's ``auth``
    settings) is walked, its own credentials hidden; null and booleans say nothing."""
    if isinstance(value, dict):
        return _canonical(value, volatile, secrets)
    if isinstance(value, list):
        return [_redacted(v, volatile, secrets) for v in value]
    if value is None or isinstance(value, bool):
        return value
    return REDACTED


def _kept_params(url: URL, secrets: frozenset[str]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in url.params.multi_items() if not is_secret(k, secrets)]


def redacted_url(url: URL, secrets: frozenset[str] = _DEFAULT_SECRETS) -> URL:
    """``url`` (of either stack) for messages: without user information, fragment, and the
    query parameters named like a credential."""
    query = str(stack_of(url).QueryParams(tuple(_kept_params(url, secrets))))
    redacted: URL = url.copy_with(
        username=None, password=None, fragment=None, query=query.encode() if query else None
    )
    return redacted


def identity(
    request: Request,
    volatile: Iterable[str] = DEFAULT_VOLATILE_KEYS,
    secrets: frozenset[str] = _DEFAULT_SECRETS,
) -> dict[str, Any]:
    """What identifies ``request``: method, path (with its query, credentials dropped),
    canonical body (volatile keys removed, credentials redacted; a body that is not JSON kept
    as its digest only) and digest. ``secrets`` is ``deny_list(...)``."""
    volatile = frozenset(volatile)
    # As written since the first recordings (values not escaped): their digests stay valid.
    query = "&".join(f"{k}={v}" for k, v in _kept_params(request.url, secrets))
    path = request.url.path + ("?" + query if query else "")
    try:
        body: Any = _canonical(json.loads(request.content or b"null"), volatile, secrets)
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
