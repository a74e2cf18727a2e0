"""Opening a link and joining: what the entry page shows, what a click is, the guest session."""

from __future__ import annotations

from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.models import Guest, GuestLink, Launch
from tests.guest.conftest import add_link, form_token, join, set_room

PURPOSE = "Your email is collected to identify you to the host. It is not shared or used to contact you."


def used_clicks(app, token: str) -> int:
    with app.app_context():
        return db.session.execute(select(GuestLink.used_clicks).filter_by(token=token)).scalar_one()


def test_entry_page_shows_room_title_purpose_name_email_and_join(link, browser):
    response = browser().get(f"/g/{link}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<h1 id="entry-title">Weekly seminar</h1>' in html
    assert PURPOSE in html
    assert '<label for="guest-name">Name</label>' in html
    assert '<label for="guest-email">Email</label>' in html
    assert 'type="submit"' in html and ">Join<" in html
    assert "<a " not in html  # nothing to wander off to


def test_opening_the_link_never_uses_a_click(app, host, browser):
    token = add_link(app, host.room_id, max_clicks=1)
    guest = browser()
    for _ in range(5):
        assert guest.get(f"/g/{token}").status_code == 200
        assert guest.head(f"/g/{token}").status_code == 200
    assert used_clicks(app, token) == 0
    assert join(guest, token).status_code == 303
    assert used_clicks(app, token) == 1


def test_join_redirects_to_an_address_without_the_token_with_a_new_guest_session(app, link, browser):
    guest = browser()
    response = join(guest, link)
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/g/room/") and link not in location
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("guest_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # Joining again from the same browser starts a new session and leaves the old place.
    again = join(guest, link, name="Ada again")
    assert again.headers["Set-Cookie"].split(";")[0] != cookie.split(";")[0]
    with app.app_context():
        statuses = dict(db.session.execute(select(Guest.name, Guest.status)).all())
    assert statuses == {"Ada Lovelace": "ended", "Ada again": "waiting"}


def test_guest_cookie_is_secure_over_https(app, link):
    guest = app.test_client()
    page = guest.get(f"/g/{link}", base_url="https://tool.test")
    response = guest.post(
        f"/g/{link}",
        base_url="https://tool.test",
        data={"name": "Ada", "email": "ada@example.org", "form_token": form_token(page.get_data(as_text=True))},
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]


def test_with_admission_off_a_guest_goes_straight_into_the_session(app, host, link, browser):
    set_room(app, host.room_id, admission_required=False)
    guest = browser()
    response = join(guest, link)
    page = guest.get(response.headers["Location"])
    assert page.status_code == 200
    assert 'id="room-title">Weekly seminar<' in page.get_data(as_text=True)
    assert "Waiting for a moderator" not in page.get_data(as_text=True)
    assert guest.get("/g/api/status").get_json() == {"status": "admitted"}


def test_guests_are_never_launches_and_never_call_sakai(app, host, link, browser, platform):
    with app.app_context():
        launches = db.session.execute(select(func.count()).select_from(Launch)).scalar_one()
    hits = platform.keyset.hits
    guest = browser()
    join(guest, link)
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Launch)).scalar_one() == launches
        guest_row = db.session.execute(select(Guest)).scalar_one()
        assert guest_row.group_id is not None and guest_row.link_name == "Guest speakers"
    assert platform.keyset.hits == hits


def test_a_returning_browser_is_offered_to_continue(link, browser):
    guest = browser()
    target = join(guest, link).headers["Location"]
    html = guest.get(f"/g/{link}").get_data(as_text=True)
    assert f'href="{target}"' in html and "already joined" in html


def test_the_last_click_goes_to_one_guest_the_next_sees_the_link_page(app, host, browser):
    token = add_link(app, host.room_id, max_clicks=1)
    first, second = browser(), browser()
    first_page = first.get(f"/g/{token}").get_data(as_text=True)
    second_page = second.get(f"/g/{token}").get_data(as_text=True)
    data = {"name": "Ada", "email": "ada@example.org"}
    assert first.post(f"/g/{token}", data={**data, "form_token": form_token(first_page)}).status_code == 303
    late = second.post(f"/g/{token}", data={**data, "form_token": form_token(second_page)})
    assert late.status_code == 404
    assert "This link is no longer valid" in late.get_data(as_text=True)
    assert used_clicks(app, token) == 1


def test_the_form_token_is_bound_to_the_browser_that_opened_the_page(app, host, browser):
    """Cross-site join (login CSRF): a token fetched by someone else, posted from the victim's browser
    (whose SameSite=Lax form cookie a cross-site post would not even carry), uses no click and keeps
    the victim's own guest session."""
    token = add_link(app, host.room_id)
    set_room(app, host.room_id, admission_required=False)
    victim = browser()
    assert join(victim, token, name="Victim", email="victim@example.org").status_code == 303
    before = victim.get_cookie("guest_session").value
    clicks = used_clicks(app, token)

    attacker = browser()
    stolen = form_token(attacker.get(f"/g/{token}").get_data(as_text=True))
    forged = {"name": "Attacker Chosen", "email": "evil@example.org", "form_token": stolen}
    response = victim.post(f"/g/{token}", data=forged)
    assert response.status_code == 400
    assert "Please check your details and join again" in response.get_data(as_text=True)
    # Nor without any form cookie (what a cross-site post from a SameSite=Lax browser looks like).
    assert browser().post(f"/g/{token}", data=forged).status_code == 400
    assert victim.get_cookie("guest_session").value == before
    assert used_clicks(app, token) == clicks


def test_a_post_that_the_browser_marks_cross_site_is_refused(app, link, browser):
    guest = browser()
    page = guest.get(f"/g/{link}")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("guest_form=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    data = {"name": "Ada", "email": "ada@example.org", "form_token": form_token(page.get_data(as_text=True))}
    refused = guest.post(f"/g/{link}", data=data, headers={"Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 400
    assert used_clicks(app, link) == 0
    joined = guest.post(f"/g/{link}", data=data, headers={"Sec-Fetch-Site": "same-origin"})
    assert joined.status_code == 303
