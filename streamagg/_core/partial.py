"""``PartialJSON``: the value of a JSON text that is still arriving, at any moment.

UIs show tool-call arguments and JSON-mode answers while they stream. ``feed(text)`` parses only
the new text, and ``value`` is the value so far: objects and lists with the complete keys and
values, the string being received (as a value, not as a key) partial. Numbers, ``true``,
``false`` and ``null`` appear once complete (a ``1`` may still become ``12``).

Linear on purpose (peers re-parsed the whole buffer on every chunk, which is quadratic): each
character is looked at once, containers are built in place, and a growing string is extended in
place. ``value`` is a live view of that structure (do not modify it); reading it after every
delta costs nothing more. Invalid JSON never raises: the value stops at the last valid point
and ``error`` says where it went wrong.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["PartialJSON"]

_WHITESPACE = " \t\r\n"
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}
_SCALAR_START = frozenset("-0123456789tfn")
_SCALAR_CHARS = frozenset("-+.eE0123456789truefalsn")
_HEX = frozenset("0123456789abcdefABCDEF")


def _hex(digits: str) -> int | None:
    return int(digits, 16) if len(digits) == 4 and _HEX.issuperset(digits) else None


# What the parser expects next, in the innermost container.
_VALUE, _KEY_OR_END, _KEY, _COLON, _COMMA_OR_END, _VALUE_OR_END, _DONE = range(7)


class PartialJSON:
    """Incremental, forgiving JSON: ``feed(text)`` as text arrives, ``value`` at any time."""

    __slots__ = (
        "_escape",
        "_expect",
        "_key",
        "_pieces",
        "_root",
        "_scalar",
        "_stack",
        "_string",
        "_string_is_key",
        "error",
    )

    def __init__(self) -> None:
        self._root: Any = None
        self._stack: list[Any] = []  # open containers, innermost last
        self._expect = _VALUE
        self._key: str | None = None  # the key whose value comes next (objects)
        self._string = False  # inside a string
        self._string_is_key = False
        self._pieces: list[str] = []  # the key being read
        self._escape = ""  # an escape sequence split across feeds
        self._scalar = ""  # a number or literal being read
        #: Where the text stopped being valid JSON (None while it is valid).
        self.error: str | None = None

    @property
    def value(self) -> Any:
        """The value so far (None before any value starts)."""
        return self._root

    def feed(self, text: str) -> None:
        """Parse more text."""
        i, n = 0, len(text)
        while i < n and self.error is None:
            if self._string:
                i = self._read_string(text, i)
            elif self._scalar:
                i = self._read_scalar(text, i)
            else:
                i = self._read_token(text, i)

    # -- tokens ------------------------------------------------------------------------------

    def _read_token(self, text: str, i: int) -> int:
        c = text[i]
        if c in _WHITESPACE:
            return i + 1
        expect = self._expect
        if expect == _DONE:
            return self._fail(f"text after the value: {c!r}")
        if c == '"':
            if expect in (_KEY, _KEY_OR_END):
                self._string, self._string_is_key, self._pieces = True, True, []
            elif expect in (_VALUE, _VALUE_OR_END):
                self._string, self._string_is_key = True, False
                self._put("")
            else:
                return self._fail("a string where it cannot be")
            return i + 1
        if c in "{[" and expect in (_VALUE, _VALUE_OR_END):
            container: Any = {} if c == "{" else []
            self._put(container)
            self._stack.append(container)
            self._expect = _KEY_OR_END if c == "{" else _VALUE_OR_END
            return i + 1
        if c == "}" and expect in (_KEY_OR_END, _COMMA_OR_END) and self._in_object():
            return self._close(i)
        if c == "]" and expect in (_VALUE_OR_END, _COMMA_OR_END) and not self._in_object():
            return self._close(i)
        if c == ":" and expect == _COLON:
            self._expect = _VALUE
            return i + 1
        if c == "," and expect == _COMMA_OR_END:
            self._expect = _KEY if self._in_object() else _VALUE
            return i + 1
        if c in _SCALAR_START and expect in (_VALUE, _VALUE_OR_END):
            return self._read_scalar(text, i)
        return self._fail(f"unexpected {c!r}")

    def _in_object(self) -> bool:
        return bool(self._stack) and self._stack[-1].__class__ is dict

    def _close(self, i: int) -> int:
        self._stack.pop()
        self._after_value()
        return i + 1

    def _after_value(self) -> None:
        self._expect = _COMMA_OR_END if self._stack else _DONE

    def _put(self, value: Any) -> None:
        """Place a new value where the parser is."""
        if not self._stack:
            self._root = value
        elif self._in_object():
            self._stack[-1][self._key] = value
        else:
            self._stack[-1].append(value)

    def _fail(self, why: str) -> int:
        self.error = why
        return 1 << 62

    # -- strings -----------------------------------------------------------------------------

    def _read_string(self, text: str, i: int) -> int:
        n = len(text)
        while i < n:
            if self._escape:
                i = self._read_escape(text, i)
                if self.error is not None:
                    return i
                continue
            # The run of plain characters up to the next quote or backslash, in one slice.
            quote = text.find('"', i)
            slash = text.find("\\", i, quote if quote >= 0 else n)
            end = slash if slash >= 0 else (quote if quote >= 0 else n)
            if end > i:
                self._extend(text[i:end])
            if end == n:
                return n
            if text[end] == "\\":
                self._escape = "\\"
                i = end + 1
                continue
            self._string = False  # the closing quote
            if self._string_is_key:
                self._key = "".join(self._pieces)
                self._expect = _COLON
            else:
                self._after_value()
            return end + 1
        return i

    def _extend(self, piece: str) -> None:
        if self._string_is_key:
            self._pieces.append(piece)
            return
        # Take the string out of its container, extend it, put it back: with no other
        # reference to it, CPython extends it in place (amortised linear), which
        # "".join over the pieces on every read would not be.
        stack = self._stack
        if not stack:
            current, self._root = self._root, None
            current += piece
            self._root = current
        elif stack[-1].__class__ is dict:
            container = stack[-1]
            current = container.pop(self._key)
            current += piece
            container[self._key] = current
        else:
            container = stack[-1]
            current = container.pop()
            current += piece
            container.append(current)

    def _read_escape(self, text: str, i: int) -> int:
        """One more character of an escape sequence (``\\n``, ``\\u00e9``, or a surrogate
        pair ``\\ud83d\\ude00``), which may arrive split across feeds."""
        escape = self._escape = self._escape + text[i]
        size = len(escape)
        if size == 2:
            if escape[1] == "u":
                return i + 1
            char = _ESCAPES.get(escape[1])
            if char is None:
                return self._fail(f"a bad escape {escape!r}")
            return self._emit(char, i + 1)
        if size < 6:
            return i + 1
        if size == 6:
            code = _hex(escape[2:6])
            if code is None:
                return self._fail(f"a bad escape {escape!r}")
            if 0xD800 <= code < 0xDC00:
                return i + 1  # a high surrogate: a low one should follow
            return self._emit(chr(code), i + 1)
        high = int(escape[2:6], 16)
        if (size == 7 and escape[6] != "\\") or (size == 8 and escape[7] != "u"):
            # A lone high surrogate (valid JSON): keep it, and read what follows afresh.
            self._escape = escape[6:-1]
            self._extend(chr(high))
            return i
        if size < 12:
            return i + 1
        low = _hex(escape[8:12])
        if low is None:
            return self._fail(f"a bad escape {escape!r}")
        if 0xDC00 <= low < 0xE000:
            return self._emit(chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)), i + 1)
        self._extend(chr(high))
        return self._emit(chr(low), i + 1)

    def _emit(self, char: str, i: int) -> int:
        self._escape = ""
        self._extend(char)
        return i

    # -- numbers and literals ----------------------------------------------------------------

    def _read_scalar(self, text: str, i: int) -> int:
        n = len(text)
        start = i
        while i < n and text[i] in _SCALAR_CHARS:
            i += 1
        self._scalar += text[start:i]
        if i == n and self._scalar not in _LITERALS:
            return n  # a number may go on in the next feed (a literal is whole once spelt)
        token, self._scalar = self._scalar, ""
        if token in _LITERALS:
            self._put(_LITERALS[token])
        elif _NUMBER.fullmatch(token):
            self._put(float(token) if any(c in token for c in ".eE") else int(token))
        else:
            return self._fail(f"not a value: {token!r}")
        self._after_value()
        return i
