"""Accounts LikeLens acts for: X accounts connected by servers and members, and their tokens."""
