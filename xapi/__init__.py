"""LikeLens' aiohttp wrapper of the X API v2 likes-lookup endpoints. Imports nothing from discord."""
