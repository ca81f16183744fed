"""The session cookie and the CSRF token: sealed, bound to one session, and refused when forged."""

from __future__ import annotations

import base64

from hspm.web.session import SessionBox, roles_of

SECRET = b"a-test-secret-that-is-long-enough-for-the-box"


def test_a_sealed_session_opens_to_the_same_session() -> None:
    box = SessionBox(SECRET, 3600)
    session = box.signed_in("the.jwt.token", {"identity": {"user_id": "u1", "user": {"name": "Ivan"}}}, 2**40)
    opened = box.open(box.seal(session))
    assert opened == session
    assert opened is not None and opened.token == "the.jwt.token" and opened.name == "Ivan"


def test_the_cookie_does_not_show_the_token() -> None:
    box = SessionBox(SECRET, 3600)
    sealed = box.seal(box.signed_in("eyJhbGciOi.secret.token", {}, 2**40))
    assert "eyJ" not in sealed and b"secret" not in base64.urlsafe_b64decode(sealed + "==")


def test_a_tampered_forged_or_foreign_cookie_opens_to_nothing() -> None:
    box, other = SessionBox(SECRET, 3600), SessionBox(b"another-secret-entirely-of-some-length", 3600)
    sealed = box.seal(box.new())
    flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    for value in (flipped, other.seal(other.new()), "", "not base64 at all!", "A" * 5000, None):
        assert box.open(value) is None


def test_an_expired_session_opens_to_nothing() -> None:
    box = SessionBox(SECRET, 3600)
    assert box.open(box.seal(box.signed_in("t", {}, expires=1))) is None


def test_a_csrf_token_is_good_only_for_its_own_session() -> None:
    box = SessionBox(SECRET, 3600)
    mine, theirs = box.new(), box.new()
    assert box.csrf_ok(mine, box.csrf_token(mine))
    assert not box.csrf_ok(mine, box.csrf_token(theirs))
    assert not box.csrf_ok(mine, None) and not box.csrf_ok(mine, "")


def test_signing_in_and_out_changes_the_session_id_so_old_tokens_die() -> None:
    box = SessionBox(SECRET, 3600)
    before = box.new()
    during = box.signed_in("t", {}, 2**40)
    after = during.signed_out(3600)
    assert len({before.sid, during.sid, after.sid}) == 3
    assert not after.signed_in and after.token is None


def test_navigation_roles_come_from_the_permission_table() -> None:
    permissions = {"products": {"create": True}, "reviews": {"update": False}, "attempts": {"read": True}}
    assert roles_of(permissions) == ("isv", "reports")
    assert roles_of({}) == ()
