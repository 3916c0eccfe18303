"""The vendored X spec subsets are exactly what the extract script makes from X's full specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.spec import extract_x_spec

SOURCE = extract_x_spec.DEFAULT_SOURCE


@pytest.mark.parametrize("naming", sorted(extract_x_spec.SPECS))
def test_vendored_subset_is_up_to_date_with_the_script(naming: str) -> None:
    source_name, vendored_name = extract_x_spec.SPECS[naming]
    if not (SOURCE / source_name).exists():
        pytest.skip(f"{SOURCE / source_name} is absent: nothing to compare the vendored subset with")
    vendored = (Path(extract_x_spec.__file__).parent / vendored_name).read_text(encoding="utf-8")
    assert vendored == extract_x_spec.render(SOURCE, naming), "run python tests/spec/extract_x_spec.py"


@pytest.mark.parametrize("naming", sorted(extract_x_spec.SPECS))
def test_subset_holds_the_operations_and_every_reference_resolves(naming: str) -> None:
    _, vendored_name = extract_x_spec.SPECS[naming]
    spec = json.loads((Path(extract_x_spec.__file__).parent / vendored_name).read_text(encoding="utf-8"))
    assert sorted(spec["paths"]) == sorted(extract_x_spec.OPERATIONS)
    for path, methods in extract_x_spec.OPERATIONS.items():
        assert sorted(spec["paths"][path]) == sorted(methods)
    for ref in extract_x_spec._refs(spec):
        extract_x_spec._resolve(spec, ref)  # raises KeyError when the subset lost a referenced part


@pytest.mark.parametrize("naming", sorted(extract_x_spec.SPECS))
def test_subset_holds_the_activity_api_operations_live_likes_use(naming: str) -> None:
    _, vendored_name = extract_x_spec.SPECS[naming]
    spec = json.loads((Path(extract_x_spec.__file__).parent / vendored_name).read_text(encoding="utf-8"))
    operation_ids = {op["operationId"] for item in spec["paths"].values() for op in item.values()}
    assert {"activityStream", "createActivitySubscription", "getActivitySubscriptions",
            "deleteActivitySubscription"} <= operation_ids
    # The like.create payload schema is reachable through the stream's discriminator mapping.
    assert any(name.startswith("LikeWith") for name in spec["components"]["schemas"])
