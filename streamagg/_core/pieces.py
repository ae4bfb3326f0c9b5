"""Strings that arrive in pieces (streamed text, tool-call arguments), kept so that neither the
time of a delta nor the memory of the whole grows faster than the text itself.

A fold appends each piece to a ``Pieces`` list and joins the list only when it builds the final
object: appending costs the same however long the text already is. But a small ``str`` costs
about 50 bytes besides its characters, so 50,000 one-word deltas held as pieces take ten times
the memory of their text. ``Pieces`` therefore joins its pieces into blocks as it goes: once a
list holds more than ``JOIN_AT`` entries, the pieces after its last block are joined into a new
block (``compact``). Each character is copied into one block, and once more when the blocks are
joined at the end; only when a list has gathered ``MAX_BLOCKS`` blocks are they joined into one
(every ~65,000 pieces), which keeps the whole linear in practice.

The hot path appends and compares the length inline (``parts.append(text)`` then
``if len(parts) > JOIN_AT: parts.compact()``); other code calls ``add``. ``joins`` counts the
compactions, so that a reader that remembers how many pieces it has seen (``PartialText``)
knows when those indices stopped meaning anything.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["JOIN_AT", "MAX_BLOCKS", "Pieces"]

#: Entries a list may hold before its newest pieces are joined into a block.
JOIN_AT = 512
#: Blocks a list may hold before they are joined into one.
MAX_BLOCKS = 128


class Pieces(list[str]):
    """A list of string pieces whose first ``blocks`` entries are already joined blocks."""

    __slots__ = ("blocks", "joins")

    def __init__(self, pieces: Iterable[str] = ()) -> None:
        super().__init__(pieces)
        self.blocks = 0
        self.joins = 0

    def add(self, text: str) -> None:
        """Append a piece (and compact when the list has grown long)."""
        self.append(text)
        if len(self) > JOIN_AT:
            self.compact()

    def compact(self) -> None:
        """Join the pieces after the last block into one block (and the blocks into one when
        there are ``MAX_BLOCKS`` of them)."""
        blocks = self.blocks
        self[blocks:] = ["".join(self[blocks:])]
        self.blocks = blocks + 1
        if self.blocks >= MAX_BLOCKS:
            self[:] = ["".join(self)]
            self.blocks = 1
        self.joins += 1
