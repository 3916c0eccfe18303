"""Community accounts of the X sandbox: other X accounts a LikeLens server can connect with OAuth 2.0.

Each has its own handle, three recent posts of its own (6, 3 and 0 likers) and six fans of its own
who liked them (no fan likes posts of two communities), and liked two posts of its fans. So two
Discord servers connected to two of them must never show each other's likers. Ids are fixed:
account N (1-3) is 16000000000000000{10+N}, its posts 1861000000000N00{1-3}, its fans
1710000000000N00{01-06} (@<short>_fan_01 ...), the fans' posts it liked 1862000000000N00{1-2}.
Seeded after the rest of the world, so no id of the older seed moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from xapi.sandbox.data import SandboxWorld, SeedPost, SeedUser


@dataclass(frozen=True, slots=True)
class CommunitySeed:
    """One community account: handle, display name and the short prefix of its fans' handles."""

    number: int
    username: str
    name: str
    fan_prefix: str

    @property
    def id(self) -> str:
        return str(1600000000000000010 + self.number)

    @property
    def post_ids(self) -> tuple[str, ...]:
        """Its own posts, newest first."""
        return tuple(str(1861000000000000000 + self.number * 1000 + n) for n in (3, 2, 1))

    @property
    def fan_ids(self) -> tuple[str, ...]:
        return tuple(str(1710000000000000000 + self.number * 1000 + n) for n in range(1, 7))


COMMUNITIES = (
    CommunitySeed(1, "maple_guild", "Maple Guild 🍁", "maple"),
    CommunitySeed(2, "harbor_club", "Harbor Club ⚓", "harbor"),
    CommunitySeed(3, "orbit_makers", "Orbit Makers 🛰", "orbit"),
)
COMMUNITY_MAPLE, COMMUNITY_HARBOR, COMMUNITY_ORBIT = COMMUNITIES
# Likers of each of a community's posts, newest post first.
COMMUNITY_LIKER_COUNTS = (6, 3, 0)


def seed_communities(world: SandboxWorld) -> None:
    """Add the community accounts, their posts, fans and likes to `world` (as of `world.now`)."""
    joined = datetime(2019, 6, 1, 12, 0, tzinfo=UTC)
    for seed in COMMUNITIES:
        world.add_user(SeedUser(
            id=seed.id, username=seed.username, name=seed.name, created_at=joined,
            description=f"The {seed.name} community on X.", followers_count=500 * seed.number,
            following_count=40, post_count=300, listed_count=seed.number, like_count=2,
        ))
        fans = [SeedUser(
            id=fan_id, username=f"{seed.fan_prefix}_fan_{index:02d}", name=f"{seed.name} fan {index}",
            created_at=joined + timedelta(days=index), description="", followers_count=index * 11,
            following_count=index, post_count=index * 3,
        ) for index, fan_id in enumerate(seed.fan_ids, start=1)]
        for fan in fans:
            world.add_user(fan)
        for index, post_id in enumerate(seed.post_ids):
            likers = COMMUNITY_LIKER_COUNTS[index]
            world.add_post(SeedPost(
                id=post_id, author_id=seed.id, text=f"{seed.name} news #{3 - index}",
                created_at=world.now - timedelta(hours=5 + 20 * index), like_count=likers,
            ))
            for fan in fans[:likers]:
                world.like(post_id, fan.id)
        # It liked one post each of its first two fans.
        likes = world.account_likes.setdefault(seed.id, [])
        for index, fan in enumerate(fans[:2], start=1):
            liked = SeedPost(id=str(1862000000000000000 + seed.number * 1000 + index), author_id=fan.id,
                             text=f"{fan.name} says hello", created_at=world.now - timedelta(days=3))
            world.add_post(liked)
            world.like(liked.id, seed.id)
            likes.append((world.like_seq, liked.id))
