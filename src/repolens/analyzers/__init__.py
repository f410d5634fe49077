"""Analyzers: pure functions from a read-only snapshot to findings."""
