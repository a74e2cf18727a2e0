"""Why a guest can't join: each reason its own page and status, with private-page headers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, update

from lti_tool.clock import utcnow
from lti_tool.extensions import db
from lti_tool.models import GuestLink
from tests.conftest import do_launch, tool_config
from tests.guest.conftest import add_link, form_token, join, set_room

PRIVATE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def assert_private(response):
    for name, value in PRIVATE_HEADERS.items():
        assert response.headers[name] == value, name
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_entry_page_has_private_headers(link, browser):
    assert_private(browser().get(f"/g/{link}"))


def test_unknown_expired_used_up_and_deleted_links_look_the_same(app, host, browser, frozen_clock):
    expired = add_link(app, host.room_id, expires_at=utcnow() - timedelta(seconds=1))
    used_up = add_link(app, host.room_id, max_clicks=1)
    deleted = add_link(app, host.room_id)
    with app.app_context():
        db.session.execute(update(GuestLink).filter_by(token=used_up).values(used_clicks=1))
        db.session.execute(delete(GuestLink).filter_by(token=deleted))
        db.session.commit()
    pages = []
    for token in (expired, used_up, deleted, "no-such-token", "x" * 500):
        response = browser().get(f"/g/{token}")
        assert response.status_code == 404
        assert_private(response)
        pages.append(response.get_data(as_text=True))
    assert "This link is no longer valid" in pages[0]
    assert len(set(pages)) == 1  # nothing tells a probed token apart


def test_guest_access_turned_off(app, host, browser):
    token = add_link(app, host.room_id, enable=False)
    response = browser().get(f"/g/{token}")
    assert response.status_code == 403
    assert "Guest access is turned off" in response.get_data(as_text=True)
    assert_private(response)


def test_modules_disabled_means_guest_access_is_off(make_app, platform):
    app = make_app(config=tool_config(platform, modules={"theming": {"enabled": True, "mediapage": "No"}}))
    host = do_launch(app.test_client(), platform, "Instructor")
    token = add_link(app, host.room_id)
    response = app.test_client().get(f"/g/{token}")
    assert response.status_code == 403
    assert "Guest access is turned off" in response.get_data(as_text=True)


def test_room_no_longer_available(app, host, link, browser):
    set_room(app, host.room_id, deleted_at=utcnow())
    response = browser().get(f"/g/{link}")
    assert response.status_code == 410
    assert "This session is no longer available" in response.get_data(as_text=True)
    assert_private(response)


def test_declined_page(app, host, link, browser):
    guest = browser()
    place = join(guest, link).headers["Location"]
    guest_id = app.test_client().get(f"/api/rooms/{host.room_id}/guests/waiting", headers=host.headers).get_json()
    app.test_client().post(
        f"/api/rooms/{host.room_id}/guests/{guest_id['guests'][0]['id']}/decline", headers=host.headers
    )
    response = guest.get(place)
    assert response.status_code == 403
    assert "You were not admitted" in response.get_data(as_text=True)
    assert_private(response)


def test_room_page_without_a_guest_session(host, browser):
    response = browser().get(f"/g/room/{host.room_id}")
    assert response.status_code == 403
    assert "open the guest link you were given" in response.get_data(as_text=True)
    assert_private(response)


def test_message_pages_carry_no_links_or_scripts(app, host, browser):
    token = add_link(app, host.room_id, enable=False)
    html = browser().get(f"/g/{token}").get_data(as_text=True)
    assert "<a " not in html and "<script" not in html


@pytest.mark.parametrize(("offset", "status"), [(-1, 303), (0, 404)], ids=["expiry-minus-1s", "at-expiry"])
def test_expiry_boundary(app, host, browser, frozen_clock, offset, status):
    expires = frozen_clock.now + timedelta(days=1)
    token = add_link(app, host.room_id, expires_at=expires)
    guest = browser()
    frozen_clock.now = expires + timedelta(seconds=offset)
    if status == 303:
        assert join(guest, token).status_code == 303
    else:
        assert guest.get(f"/g/{token}").status_code == 404
        frozen_clock.now = expires - timedelta(seconds=1)
        page = guest.get(f"/g/{token}")  # opened just before expiry, submitted at expiry
        frozen_clock.now = expires
        late = guest.post(
            f"/g/{token}",
            data={"name": "Ada", "email": "ada@example.org", "form_token": form_token(page.get_data(as_text=True))},
        )
        assert late.status_code == 404
