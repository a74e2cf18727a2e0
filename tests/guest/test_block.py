"""Remove and Remove and block, enforced on the server whatever the page does: a blocked person can't
rejoin the room through any link (the same browser, or the same email in any case) until the session
ends; plain Remove lets them back in through a link. And a guest's own Leave."""

from __future__ import annotations

from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import Guest, GuestBlock
from tests.guest.conftest import add_link, join, set_room


def api(app, host, method: str, path: str, **kwargs):
    return app.test_client().open(f"/api/rooms/{host.room_id}{path}", method=method, headers=host.headers, **kwargs)


def guest_id(app, email: str) -> str:
    with app.app_context():
        return (
            db.session.execute(select(Guest.id).where(Guest.email == email).order_by(Guest.created_at.desc()))
            .scalars()
            .first()
        )


def inside(app, host, link, browser, email="ada@example.org"):
    """A guest who joined (admission off: straight in) in a live session."""
    response = join(browser, link, email=email)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return guest_id(app, email)


def setup_live(app, host):
    set_room(app, host.room_id, admission_required=False)
    assert api(app, host, "POST", "/session/start").status_code == 200


def test_remove_and_block_refuses_the_same_email_through_another_link(app, host, browser):
    first, second = add_link(app, host.room_id, name="First"), add_link(app, host.room_id, name="Second")
    setup_live(app, host)
    gid = inside(app, host, first, browser())
    assert api(app, host, "POST", f"/guests/{gid}/remove", json={"block": True}).status_code == 200

    # Another browser (no cookie of the first), another link, the address in other letters: refused.
    again = join(browser(), second, email="ADA@Example.org ")
    assert again.status_code == 403
    assert "rejoin this session" in again.get_data(as_text=True)
    assert "The host removed you from this session and blocked rejoining until it ends." in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(select(Guest).where(Guest.email == "ada@example.org")).scalars().all()[-1].id == gid
    # No click was used by the refusal, and no guest row was made.
    with app.app_context():
        assert db.session.execute(select(Guest.id)).scalars().all() == [gid]


def test_remove_and_block_refuses_the_same_browser_with_another_email(app, host, browser):
    first, second = add_link(app, host.room_id, name="First"), add_link(app, host.room_id, name="Second")
    setup_live(app, host)
    own = browser()
    gid = inside(app, host, first, own)
    assert api(app, host, "POST", f"/guests/{gid}/remove", json={"block": True}).status_code == 200
    own.delete_cookie("guest_session")  # a hostile client drops its guest cookie; the browser is still known

    refused = join(own, second, email="someone.else@example.org")
    assert refused.status_code == 403 and b"rejoin" in refused.data
    # The block holds no name or address.
    with app.app_context():
        [block] = db.session.execute(select(GuestBlock)).scalars().all()
        assert "ada" not in (block.email_hash + (block.browser_hash or ""))


def test_plain_remove_lets_them_back_through_the_link(app, host, link, browser):
    setup_live(app, host)
    own = browser()
    gid = inside(app, host, link, own)
    assert api(app, host, "POST", f"/guests/{gid}/remove").status_code == 200
    back = join(own, link)
    assert back.status_code == 303
    assert guest_id(app, "ada@example.org") != gid


def test_a_block_lasts_until_the_session_ends(app, host, link, browser):
    setup_live(app, host)
    gid = inside(app, host, link, browser())
    assert api(app, host, "POST", f"/guests/{gid}/remove", json={"block": True}).status_code == 200
    assert join(browser(), link).status_code == 403
    assert api(app, host, "POST", "/session/end").status_code == 200
    assert join(browser(), link).status_code == 303  # the next session lets them in again


def test_a_block_in_one_room_does_not_reach_another(app, host, link, browser, platform):
    from tests.guest.conftest import launch_other_room

    setup_live(app, host)
    gid = inside(app, host, link, browser())
    assert api(app, host, "POST", f"/guests/{gid}/remove", json={"block": True}).status_code == 200
    other = launch_other_room(app, platform)
    other_link = add_link(app, other.room_id, name="Elsewhere")
    set_room(app, other.room_id, admission_required=False)
    assert join(browser(), other_link).status_code == 303


def test_block_must_be_true_or_false(app, host, link, browser):
    setup_live(app, host)
    gid = inside(app, host, link, browser())
    response = api(app, host, "POST", f"/guests/{gid}/remove", json={"block": "yes"})
    assert response.status_code == 400 and response.get_json()["field"] == "block"
    with app.app_context():
        assert db.session.get(Guest, gid).status == "admitted"  # nothing changed


def test_a_blocked_guest_is_told_at_the_next_poll(app, host, link, browser):
    setup_live(app, host)
    own = browser()
    gid = inside(app, host, link, own)
    api(app, host, "POST", f"/guests/{gid}/remove", json={"block": True})
    body = own.get(f"/api/rooms/{host.room_id}/state").get_json()
    assert body["reason"] == "blocked"
    assert body["title"] == "The host removed you from this session"
    assert body["message"] == "You can't rejoin it until it ends."


def test_leave_ends_the_guests_place_and_the_host_no_longer_lists_them(app, host, link, browser):
    setup_live(app, host)
    own = browser()
    gid = inside(app, host, link, own)
    assert [g["id"] for g in api(app, host, "GET", "/state").get_json()["guests"]] == [gid]

    left = own.post(f"/api/rooms/{host.room_id}/guest/leave", json={})
    assert left.status_code == 200
    assert left.get_json()["title"] == "You left the session"
    assert "guest_session=;" in left.headers["Set-Cookie"]
    assert api(app, host, "GET", "/state").get_json()["guests"] == []
    with app.app_context():
        assert db.session.get(Guest, gid).status == "left"
    # Sakai users have no guest place to leave.
    assert api(app, host, "POST", "/guest/leave", json={}).status_code == 403
