from xapi.models import Includes, PartialError, Post, User


def test_partial_error_kind_is_last_segment_of_type_whatever_the_host() -> None:
    old = PartialError(title="x", type="https://api.twitter.com/2/problems/not-authorized-for-resource")
    new = PartialError(title="x", type="https://api.x.com/2/problems/not-authorized-for-resource/")
    assert old.kind == new.kind == "not-authorized-for-resource"
    assert PartialError(title="x").kind == ""


def test_includes_lookup_by_id() -> None:
    alice = User(id="1", username="alice", name="Alice")
    post = Post(id="9", text="hi", author_id="1")
    inc = Includes(users=(alice,), posts=(post,))
    assert inc.user("1") is alice
    assert inc.post("9") is post
    assert inc.user("2") is None
    assert inc.user(None) is None
    assert post.url("alice") == "https://x.com/alice/status/9"
