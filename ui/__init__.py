"""ui package of LikeLens."""
