"""Accounts LikeLens acts for: which X account serves which server, connected accounts, their tokens."""
