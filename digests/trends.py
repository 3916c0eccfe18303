"""The I/O of /likes trend, and the cheap like-count sampling that feeds it.

`post_trend` looks the post up (one request; X bills the same post once per UTC day), records its
like count as a sample, and returns the recorded samples and newest likers as the chart's points.
`sample_like_counts` records the like counts of many posts in batched `GET /2/tweets?ids=`
lookups of 100 (the digest scheduler and /likes top feed samples the same way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from digests.post_checks import XReads, own_post
from store.like_history import LikeHistory
from ui.charts import NEWEST_MARKED, LikeSample, MarkedLiker
from xapi.models import Post
from xapi.validation import MAX_BATCH_IDS


@dataclass(frozen=True, slots=True)
class PostTrend:
    """A post and what LikeLens has recorded of its likes over time."""

    post: Post
    samples: tuple[LikeSample, ...]
    newest: tuple[MarkedLiker, ...]


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def post_trend(
    client: XReads, history: LikeHistory, *, account_id: str, post_id: str, now: float,
) -> PostTrend:
    """The like-count history of account_id's post, with today's count recorded first."""
    post = await own_post(client, account_id, post_id)
    if post.like_count is not None:
        await history.record_like_counts(account_id, {post_id: post.like_count}, now=now)
    recorded = await history.like_counts(account_id, post_id)
    samples = tuple(LikeSample(_moment(s.at), s.like_count) for s in recorded)
    likers = await history.newest_likers(account_id, post_id, limit=NEWEST_MARKED)
    return PostTrend(post, samples, tuple(MarkedLiker(r.handle, _moment(r.first_seen)) for r in likers))


async def sample_like_counts(
    client: XReads, history: LikeHistory, *, account_id: str, post_ids: Sequence[str], now: float,
) -> int:
    """Record the like counts of account_id's posts among post_ids (batches of 100); returns samples added."""
    wanted = list(dict.fromkeys(post_ids))
    added = 0
    for start in range(0, len(wanted), MAX_BATCH_IDS):
        page = await client.posts(wanted[start:start + MAX_BATCH_IDS])
        # Another account's post (or one X could not return) is not this account's to sample.
        counts = {p.id: p.like_count for p in page.items
                  if p.author_id == account_id and p.like_count is not None}
        added += await history.record_like_counts(account_id, counts, now=now)
    return added
