"""The core: sans-IO, below every dialect, importing none of them (and not httpx).

Bytes to events (``sse``, ``ndjson``, ``framing``), the reader that is the one door from bytes
to a fold (``reader``), the fold protocol and the base every dialect's fold extends (``fold``,
with the performance conventions of the hot path in its doc), what folds share to read fields
(``fields``), JSON values (``codec``, ``merge``, ``partial``, ``pieces``), limits, errors and
the report, the one converter (``convert``), a dialect's registry entry (``dialect``), and the
adapters every dialect's ``replay`` and ``fold`` use (``source``, ``drain``).
"""
