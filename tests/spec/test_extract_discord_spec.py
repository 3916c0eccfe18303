"""The vendored Discord subset is what extract_discord_spec.py makes of Discord's full spec."""

from __future__ import annotations

import json

import pytest

from tests.spec.extract_discord_spec import ROUTES, SOURCE, TARGET, extract


def test_the_committed_subset_has_every_route_and_resolves_every_reference() -> None:
    subset = json.loads(TARGET.read_text(encoding="utf-8"))
    for path, method in ROUTES:
        assert "requestBody" in subset["paths"][path][method]
    text = TARGET.read_text(encoding="utf-8")
    names = {part.split('"')[0] for part in text.split('"#/components/schemas/')[1:]}
    assert names <= set(subset["components"]["schemas"])


@pytest.mark.skipif(not SOURCE.exists(), reason="Discord's full spec is not on this machine")
def test_the_committed_subset_is_up_to_date() -> None:
    expected = extract(json.loads(SOURCE.read_text(encoding="utf-8")))
    assert json.loads(TARGET.read_text(encoding="utf-8")) == expected
