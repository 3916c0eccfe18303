"""Deterministic seeded data of the X sandbox: accounts, posts and likes, and their JSON rendering.

Every id, name and number comes from a fixed seed, so tests can name them. Likes carry a sequence
number that only grows: pages are cut by sequence, so likes added at run time never shift a page.

(A little over 300 lines: the seed is one world whose ids refer to each other; split, its
cross-references would span files.)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

Naming = Literal["tweet", "post"]
JsonObject = dict[str, Any]

OWNER_ID = "1600000000000000001"
OWNER_USERNAME = "likelens_demo"
USER_OTHER_ID = "1600000000000000002"
USER_OTHER_USERNAME = "other_public"
USER_PROTECTED_ID = "1600000000000000003"
USER_PROTECTED_USERNAME = "locked_fan"
USER_SUSPENDED_ID = "1600000000000000004"
USER_SUSPENDED_USERNAME = "gone_spammer"

POST_NO_LIKES = "1860000000000000001"
POST_7_LIKES = "1860000000000000002"
POST_100_LIKES = "1860000000000000003"
POST_MANY_LIKES = "1860000000000000004"
POST_DELETED = "1860000000000000005"
POST_OTHER_ACCOUNT = "1860000000000000006"
# The owner's pinned post (one of its recent posts) and the first of its other recent posts.
POST_OWNER_PINNED = "1860000000000000007"

SEEDED_LIKE_COUNTS = {POST_NO_LIKES: 0, POST_7_LIKES: 7, POST_100_LIKES: 100, POST_MANY_LIKES: 140}
OWNER_LIKED_COUNT = 250
# X returns at most this many likers of a post, for all time.
LIKERS_CAP = 100

_FAN_COUNT = 220
_FAN_ID_BASE = 1700000000000000000
_POST_ID_BASE = 1870000000000000000
_EPOCH_SECONDS_PER_LIKE = 60

# Display names and bios that break naive renderers: emoji, right-to-left text, markdown, mentions.
_NAMES = (
    "Ana 🌸", "محمد العلي", "**bold** _fan_", "Zoë ✨ Müller", "`code` ||spoiler||", "@everyone",
    "שרה כהן", "李小龍", "Ｆｕｌｌｗｉｄｔｈ", "emoji 👩🏽‍💻🏳️‍🌈", "> quoted", "tilde ~~strike~~", "Jo",
    "a" * 50, "Ólafur Arnalds", "Дмитрий", "नमस्ते", "under_score__name", "[link](https://x.com)",
    "🇯🇵 Kenji",
)
_BIOS = (
    "", "Coffee, code and cats ☕🐈", "Building things. Views my own. https://example.org",
    "مرحبا بالعالم — hello world", "*not* a bot **promise**", "Likes everything @likelens_demo posts",
    "<script>alert(1)</script>", "line one\nline two", "#hashtag #another", "📷 photographer 📍 Lisbon",
)
_POST_TEXTS = (
    "Shipping day 🚀", "Thread 🧵 on why caches matter (1/5)", "مساء الخير يا أصدقاء",
    "Who else is here for the **release**?", "Poll results are in: 62% said yes", "gm ☀️",
    "New blog post: https://example.org/p/1", "Replying to everyone who asked: yes, it's open source",
    "`pip install likelens`", "Thanks for 10k followers ❤️", "> quote of the day", "🧪 trying something",
)


@dataclass(slots=True)
class SeedUser:
    """One sandbox account."""

    id: str
    username: str
    name: str
    description: str
    created_at: datetime
    verified: bool = False
    protected: bool = False
    suspended: bool = False
    followers_count: int = 0
    following_count: int = 0
    post_count: int = 0
    listed_count: int = 0
    like_count: int = 0
    location: str | None = None
    pinned_post_id: str | None = None


@dataclass(slots=True)
class SeedPost:
    """One sandbox post."""

    id: str
    author_id: str
    text: str
    created_at: datetime
    like_count: int = 0
    repost_count: int = 0
    reply_count: int = 0
    quote_count: int = 0
    bookmark_count: int = 0
    impression_count: int = 0


@dataclass(slots=True)
class SandboxWorld:
    """All sandbox state about accounts and likes; mutated only by `add_*`."""

    users: dict[str, SeedUser] = field(default_factory=dict)
    usernames: dict[str, str] = field(default_factory=dict)
    posts: dict[str, SeedPost] = field(default_factory=dict)
    # post id -> [(like sequence, user id)], ascending sequence (oldest like first).
    likers: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    # The owner's likes: [(like sequence, post id)], ascending.
    owner_likes: list[tuple[int, str]] = field(default_factory=list)
    # The likes of the other accounts that can sign in (community.py): account id -> as owner_likes.
    account_likes: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    deleted_posts: set[str] = field(default_factory=set)
    like_seq: int = 0
    next_user_number: int = 0
    next_post_number: int = 0
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def add_user(self, user: SeedUser) -> None:
        self.users[user.id] = user
        self.usernames[user.username.lower()] = user.id

    def add_post(self, post: SeedPost) -> None:
        self.posts[post.id] = post

    def user_by_username(self, username: str) -> SeedUser | None:
        user_id = self.usernames.get(username.lower())
        return self.users[user_id] if user_id else None

    def visible_likers(self, post_id: str) -> list[str]:
        """Likers X would return, newest first: no protected or suspended accounts, at most 100."""
        result: list[str] = []
        for _, user_id in reversed(self.likers.get(post_id, [])):
            user = self.users[user_id]
            if not (user.protected or user.suspended):
                result.append(user_id)
                if len(result) == LIKERS_CAP:
                    break
        return result

    def new_fan(self, rng: random.Random, created_at: datetime) -> SeedUser:
        number = self.next_user_number
        self.next_user_number += 1
        user_id = str(_FAN_ID_BASE + number + 1)
        user = SeedUser(
            id=user_id,
            username=f"fan_{number:04d}",
            name=_NAMES[number % len(_NAMES)],
            description=_BIOS[number % len(_BIOS)],
            created_at=created_at,
            verified=number % 7 == 0,
            followers_count=rng.randrange(0, 50_000),
            following_count=rng.randrange(0, 5_000),
            post_count=rng.randrange(1, 20_000),
            listed_count=rng.randrange(0, 300),
            like_count=rng.randrange(0, 90_000),
            location=("Lisbon", "القاهرة", None, "🌍 everywhere")[number % 4],
        )
        self.add_user(user)
        if number % 5 == 0:
            pinned = self.new_post(rng, user_id, created_at + timedelta(days=30))
            user.pinned_post_id = pinned.id
        return user

    def new_post(self, rng: random.Random, author_id: str, created_at: datetime) -> SeedPost:
        number = self.next_post_number
        self.next_post_number += 1
        post = SeedPost(
            id=str(_POST_ID_BASE + number + 1),
            author_id=author_id,
            text=f"{_POST_TEXTS[number % len(_POST_TEXTS)]} #{number}",
            created_at=created_at,
            like_count=rng.randrange(0, 5_000),
            repost_count=rng.randrange(0, 500),
            reply_count=rng.randrange(0, 200),
            quote_count=rng.randrange(0, 50),
            bookmark_count=rng.randrange(0, 100),
            impression_count=rng.randrange(100, 500_000),
        )
        self.add_post(post)
        return post

    def like(self, post_id: str, user_id: str) -> None:
        self.like_seq += 1
        self.likers.setdefault(post_id, []).append((self.like_seq, user_id))

    def owner_like(self, post_id: str) -> None:
        self.like_seq += 1
        self.owner_likes.append((self.like_seq, post_id))

    def likes_by(self, account_id: str) -> list[tuple[int, str]]:
        """The posts `account_id` liked, [(like sequence, post id)], oldest like first."""
        return self.owner_likes if account_id == OWNER_ID else self.account_likes.get(account_id, [])


def build_world(now: datetime, seed: int = 20260822) -> SandboxWorld:
    """The seeded world as of `now`: the same ids and texts every time."""
    rng = random.Random(seed)
    world = SandboxWorld(now=now)
    joined = datetime(2015, 3, 14, 9, 26, 53, tzinfo=UTC)
    world.add_user(SeedUser(
        id=OWNER_ID, username=OWNER_USERNAME, name="LikeLens Demo 🔍", created_at=joined,
        description="The community account LikeLens reports on. **Markdown** stays _literal_.",
        verified=True, followers_count=12_345, following_count=321, post_count=2_024, listed_count=42,
        like_count=OWNER_LIKED_COUNT, location="Internet", pinned_post_id=POST_OWNER_PINNED,
    ))
    world.add_user(SeedUser(
        id=USER_OTHER_ID, username=USER_OTHER_USERNAME, name="Someone Else", created_at=joined,
        description="Another public account: its likes are private to LikeLens.",
        followers_count=99, following_count=10, post_count=5, listed_count=0,
    ))
    world.add_user(SeedUser(
        id=USER_PROTECTED_ID, username=USER_PROTECTED_USERNAME, name="Locked 🔒", created_at=joined,
        description="Protected posts.", protected=True, followers_count=3, following_count=3, post_count=9,
    ))
    world.add_user(SeedUser(
        id=USER_SUSPENDED_ID, username=USER_SUSPENDED_USERNAME, name="Spam Bot", created_at=joined,
        description="", suspended=True,
    ))

    # The owner's recent posts: one every 9 hours back from `now`, all within the last 7 days; as with
    # X's ids, a newer post has a greater id.
    owner_posts = [POST_NO_LIKES, POST_7_LIKES, POST_100_LIKES, POST_MANY_LIKES, POST_OWNER_PINNED]
    owner_posts += [str(int(POST_OWNER_PINNED) + i) for i in range(1, 9)]
    owner_posts.reverse()
    for index, post_id in enumerate(owner_posts):
        world.add_post(SeedPost(
            id=post_id, author_id=OWNER_ID, created_at=now - timedelta(hours=3 + 9 * index),
            text=f"{_POST_TEXTS[index % len(_POST_TEXTS)]} (owner post {index})",
            like_count=SEEDED_LIKE_COUNTS.get(post_id, 3 + index), repost_count=index, reply_count=2 * index,
            quote_count=index // 2, bookmark_count=index, impression_count=1_000 * (index + 1),
        ))
    world.add_post(SeedPost(
        id=POST_OTHER_ACCOUNT, author_id=USER_OTHER_ID, created_at=now - timedelta(days=2),
        text="A post by someone else: its likers are not ours to see", like_count=12,
    ))
    world.deleted_posts.add(POST_DELETED)

    fans = [world.new_fan(rng, joined + timedelta(days=13 * i)) for i in range(_FAN_COUNT)]
    # Likes happen in this order so the overlap between posts looks like a real community.
    for fan in fans[:140]:
        world.like(POST_MANY_LIKES, fan.id)
    for fan in fans[40:140]:
        world.like(POST_100_LIKES, fan.id)
    for fan in fans[:7]:
        world.like(POST_7_LIKES, fan.id)
    for index in range(1, 9):
        post_id = str(int(POST_OWNER_PINNED) + index)
        for fan in fans[index * 10: index * 10 + 3 + index]:
            world.like(post_id, fan.id)
    for fan in fans[150:153]:
        world.like(POST_OWNER_PINNED, fan.id)
    for fan in fans[:12]:
        world.like(POST_OTHER_ACCOUNT, fan.id)
    # X counts every like it lists (and more: protected and suspended likers): never fewer than listed.
    for post_id in owner_posts:
        post = world.posts[post_id]
        post.like_count = max(post.like_count, len(world.likers.get(post_id, [])))

    # The owner liked 250 posts by fans, the oldest like first.
    for index in range(OWNER_LIKED_COUNT):
        author = fans[(index * 7) % len(fans)]
        post = world.new_post(rng, author.id, now - timedelta(days=400) + timedelta(hours=37 * index))
        world.owner_like(post.id)
    return world


def iso(moment: datetime) -> str:
    """X's timestamp format: `2026-08-22T10:00:00.000Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def user_json(user: SeedUser, fields: frozenset[str], naming: Naming, *, pinned: bool) -> JsonObject:
    """One user object with the default fields plus the requested `user.fields`."""
    data: JsonObject = {"id": user.id, "name": user.name, "username": user.username}
    if "created_at" in fields:
        data["created_at"] = iso(user.created_at)
    if "description" in fields:
        data["description"] = user.description
    if "verified" in fields:
        data["verified"] = user.verified
    if "protected" in fields:
        data["protected"] = user.protected
    if "location" in fields and user.location:
        data["location"] = user.location
    if "profile_image_url" in fields:
        data["profile_image_url"] = f"https://pbs.twimg.com/profile_images/{user.id}/avatar_normal.jpg"
    if "url" in fields:
        data["url"] = ""
    if "public_metrics" in fields:
        count_key = "post_count" if naming == "post" else "tweet_count"
        data["public_metrics"] = {
            "followers_count": user.followers_count, "following_count": user.following_count,
            count_key: user.post_count, "listed_count": user.listed_count, "like_count": user.like_count,
        }
    if pinned and user.pinned_post_id:
        data["pinned_post_id" if naming == "post" else "pinned_tweet_id"] = user.pinned_post_id
    return data


def post_json(post: SeedPost, fields: frozenset[str], naming: Naming) -> JsonObject:
    """One post object with X's defaults (id, text, edit history) plus the requested fields."""
    history_key = "edit_history_post_ids" if naming == "post" else "edit_history_tweet_ids"
    data: JsonObject = {"id": post.id, "text": post.text, history_key: [post.id]}
    if "author_id" in fields:
        data["author_id"] = post.author_id
    if "created_at" in fields:
        data["created_at"] = iso(post.created_at)
    if "conversation_id" in fields:
        data["conversation_id"] = post.id
    if "lang" in fields:
        data["lang"] = "en"
    if "public_metrics" in fields:
        repost_key = "repost_count" if naming == "post" else "retweet_count"
        data["public_metrics"] = {
            repost_key: post.repost_count, "reply_count": post.reply_count, "like_count": post.like_count,
            "quote_count": post.quote_count, "bookmark_count": post.bookmark_count,
            "impression_count": post.impression_count,
        }
    return data
