"""Child programs for tests/test_reliability.py (run as scripts under ``jemalloc-sys run``)."""
