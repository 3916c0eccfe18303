"""store package of LikeLens."""
