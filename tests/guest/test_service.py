"""Service-level rules that the HTTP tests lean on: the click statement itself, and privacy of logs."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from lti_tool.clock import utcnow
from lti_tool.extensions import db
from lti_tool.guest import service
from lti_tool.models import Guest, GuestLink, Room
from tests.conftest import do_launch
from tests.guest.conftest import add_link, join, set_room


def link_id(app, token: str) -> str:
    with app.app_context():
        return db.session.execute(select(GuestLink.id).filter_by(token=token)).scalar_one()


def test_the_click_statement_honours_expiry_to_the_second(app, host, frozen_clock):
    expires = frozen_clock.now + timedelta(days=2)
    lid = link_id(app, add_link(app, host.room_id, expires_at=expires))
    with app.app_context():
        assert service.use_click(lid, expires - timedelta(seconds=1)) is True
        assert service.use_click(lid, expires) is False
        db.session.commit()


def test_the_click_statement_stops_at_the_limit_by_itself(app, host):
    # No page check in front: the statement alone must hold the limit.
    lid = link_id(app, add_link(app, host.room_id, max_clicks=2))
    with app.app_context():
        assert [service.use_click(lid, utcnow()) for _ in range(4)] == [True, True, False, False]
        assert db.session.get(GuestLink, lid).used_clicks == 2


def test_the_click_statement_refuses_when_guest_access_is_off(app, host):
    lid = link_id(app, add_link(app, host.room_id))
    set_room(app, host.room_id, guest_access_enabled=False)
    with app.app_context():
        assert service.use_click(lid, utcnow()) is False


def test_no_name_email_or_token_in_logs(app, host, link, browser, caplog):
    caplog.set_level(logging.DEBUG)
    guest = browser()
    join(guest, link, name="Zelda Quimby", email="zelda.quimby@example.org")
    join(browser(), link, name="<bad>", email="zelda.quimby@example.org")
    guest.get("/g/api/status")
    browser().get("/g/unknown-token-value")
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert caplog.records  # the journey is logged...
    for secret in ("Zelda", "zelda.quimby", link, "unknown-token-value"):
        assert secret not in text  # ...without who or which link


def test_the_session_page_shows_the_live_area_as_a_guest(app, host, link, browser):
    set_room(app, host.room_id, admission_required=False)
    guest = browser()
    place = join(guest, link).headers["Location"]
    page = guest.get(place).get_data(as_text=True)
    assert f'data-room-id="{host.room_id}" data-viewer-kind="guest"' in page
    assert "Weekly seminar" in page


def test_access_log_paths_hide_link_tokens():
    from lti_tool.guest.accesslog import redact

    assert redact("/g/AbC-123_xyz") == "/g/…"
    assert redact("/g/AbC-123_xyz HTTP/1.1") == "/g/… HTTP/1.1"
    assert redact("/g/room/r1") == "/g/room/r1"
    assert redact("/g/api/status") == "/g/api/status"
    assert redact("/lti/launch") == "/lti/launch"


def test_access_log_hides_secret_query_values():
    from lti_tool.guest.accesslog import redact

    line = "/lti/register?invite=SECRET1&openid_configuration=https%3A%2F%2Fsakai&registration_token=SECRET2 HTTP/1.1"
    assert (
        redact(line) == "/lti/register?invite=…&openid_configuration=https%3A%2F%2Fsakai&registration_token=… HTTP/1.1"
    )
    assert redact("id_token=SECRET3&state=SECRET4") == "id_token=…&state=…"  # the query-string atom
    assert redact("/lti/login?iss=x&login_hint=SECRET5&lti_message_hint=SECRET6") == (
        "/lti/login?iss=x&login_hint=…&lti_message_hint=…"
    )
    assert redact("/lti/x?statement=keep&mystate=keep") == "/lti/x?statement=keep&mystate=keep"


@pytest.mark.postgres
def test_a_join_whose_room_closes_right_after_its_click_gives_the_click_back(make_app, platform):
    app = make_app(database="postgres")
    host = do_launch(app.test_client(), platform, "Instructor")
    token = add_link(app, host.room_id, max_clicks=5)

    def switch_off_after_the_click(_conn, _cursor, statement, *_):
        # The host turns guest access off on another connection between the click and the version bump.
        if statement.startswith("UPDATE guest_link SET used_clicks=(guest_link.used_clicks +"):
            with db.engine.begin() as other:
                other.execute(update(Room).where(Room.id == host.room_id).values(guest_access_enabled=False))

    with app.app_context():
        link = service.find_link(token)
        event.listen(db.engine, "after_cursor_execute", switch_off_after_the_click)
        try:
            assert service.join(link, "Ada", "ada@example.org", "hash", utcnow()) is None
        finally:
            event.remove(db.engine, "after_cursor_execute", switch_off_after_the_click)
        db.session.commit()  # what the view does: its rate-limit counts stay
        assert db.session.execute(select(GuestLink.used_clicks).filter_by(token=token)).scalar_one() == 0
        assert db.session.execute(select(func.count()).select_from(Guest)).scalar_one() == 0
