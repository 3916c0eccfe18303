"""Digests: policy, subjects, reading X, delivery to Discord, and the scheduler loop."""
