"""Benchmarks that print Markdown tables; not part of the test run."""
