"""cogs package of LikeLens."""
