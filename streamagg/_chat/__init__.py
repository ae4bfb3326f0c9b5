"""Chat completions, one dialect like the others: its models and events, the rules table
(``rules``) and the state that folds a chunk (``state``, ``choice``, ``tools``, ``parts``), the
``Aggregator`` and its fast path (``fold``, ``shapes``), its entry points (``api``: the top-level
``streamagg`` re-exports them), its synthesizer and its registry entry (``dialect``)."""
