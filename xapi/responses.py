"""X's JSON answers shaped into pages and models, counting the items read in the client's stats."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xapi.models import ItemT, Page, PartialError, Post, User
from xapi.parsing import parse_page, parse_post, parse_single, parse_user
from xapi.problems import error_class_for, make_error
from xapi.stats import ClientStats


class ResponseShaper:
    """Turns decoded bodies into a subject's page, a batch or one item, counting what was read.

    `stats` returns today's counters (rolled to the current UTC day); `clock` is Unix seconds.
    """

    def __init__(self, stats: Callable[[], ClientStats], clock: Callable[[], float]) -> None:
        self._stats = stats
        self._clock = clock

    def _count(self, kind: str, n: int) -> None:
        stats = self._stats()
        stats.items_read[kind] = stats.items_read.get(kind, 0) + n

    def page(self, body: Any, parse_item: Callable[[object], Any], subject_id: str) -> Page[Any]:
        """One page about `subject_id`; raises when it is empty because X refused that subject."""
        page: Page[Any] = parse_page(body, parse_item)
        if not page.items:
            _raise_for_subject(page.errors, subject_id)
        kind = "users" if parse_item is parse_user else "posts"
        self._count(kind, len(page.items))
        self._count("users", len(page.includes.users))
        self._count("posts", len(page.includes.posts))
        return page

    def batch(self, body: Any) -> Page[Post]:
        """Posts looked up by id; the ids X could not return are the page's partial errors."""
        # Unlike a subject's page, a batch with no post at all is still an answer: every id missing.
        page: Page[Post] = parse_page(body, parse_post)
        self._count("posts", len(page.items))
        self._count("users", len(page.includes.users))
        self._count("posts", len(page.includes.posts))
        return page

    def one(self, body: Any, parse_item: Callable[[object], ItemT]) -> ItemT:
        """The single user or post of a lookup."""
        item, includes = parse_single(body, parse_item, now=self._clock())
        self._count("users" if isinstance(item, User) else "posts", 1)
        self._count("users", len(includes.users))
        self._count("posts", len(includes.posts))
        return item


def _raise_for_subject(problems: tuple[PartialError, ...], subject_id: str) -> None:
    # An empty page whose errors name the requested post/user means X refused that subject.
    for problem in problems:
        if problem.resource_id == subject_id and problem.kind in (
                "resource-not-found", "not-authorized-for-resource"):
            raise make_error(error_class_for(problem.kind, None),
                f"X could not return {problem.resource_type or 'resource'} {subject_id}: "
                f"{problem.title or problem.kind}"[:240],
            )
