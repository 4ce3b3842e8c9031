"""Helpers shared by the chaos and security suites (load generation, reconciliation, waiting)."""
