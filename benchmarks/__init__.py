"""Performance figures, run by `make bench` and printed as tables (never asserted in tests)."""
