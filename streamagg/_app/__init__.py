"""The app layer: live streaming calls over httpx, folded (sync and async twins), the relay,
timings and the stall watchdog. The only layer above the dialects that needs httpx."""
