"""Benchmarks that print Markdown tables; not part of the test run.

`python bench/run.py [--quick]` runs them all (each in its own interpreter); each also runs alone
as `python -m bench.<name> [--quick]`: x_requests (1), ack_latency (2), page_flips (3), memory (4),
digest_tick and digest_subjects (5), startup (6). bench/harness.py starts the Discord emulator,
the X sandbox and a real LikesBot; bench/bare_bot.py and bench/naive_pager.py are the baselines.
The last full run is in bench/RESULTS.md.
"""
