"""What a digest follows: parsing `subject:` and the words LikeLens uses for it. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from store.digests import SubjectKind
from xapi.refs import parse_post_ref

RECENT_DAYS = 7
# Posts whose likers a `recent` run reads (its baseline reads them all), least recently checked first.
RECENT_MAX_POSTS = 10
# One page of the account's posts: the posts of the last 7 days beyond the newest 100 are not followed.
RECENT_POSTS_PAGE = 100


@dataclass(frozen=True, slots=True)
class Subject:
    kind: SubjectKind
    # The post id for `post`; empty for `liked`/`recent` (the connected account).
    id: str = ""


def parse_subject(text: str) -> Subject:
    """`liked`, `recent`, or a post link/id; raises xapi.errors.InvalidReference otherwise."""
    word = text.strip().lower()
    if word in ("liked", "recent"):
        return Subject(word)  # type: ignore[arg-type]
    return Subject("post", parse_post_ref(text))


def describe(kind: str, subject_id: str) -> str:
    """A short, safe name of the subject for titles and lists."""
    if kind == "post":
        return f"post {subject_id}"
    if kind == "liked":
        return "posts the account liked"
    return f"the account's posts of the last {RECENT_DAYS} days"


def item_noun(kind: str, *, new: bool) -> str:
    """What one of a digest's items is called ("new liker", "liked post"): ui.text.plural adds the s."""
    if kind == "liked":
        return "newly liked post" if new else "liked post"
    return "new liker" if new else "liker"
