"""Guest-journey fixtures: a launched room, links made directly in the database (the management
API is another package's), and a guest's own browser (a separate test client, so cookies are theirs).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from lti_tool.clock import utcnow
from lti_tool.extensions import db
from lti_tool.models import GuestGroup, GuestLink, Room
from tests import sakai
from tests.conftest import do_launch

FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


def add_link(
    app,
    room_id: str,
    *,
    name: str = "Guest speakers",
    max_clicks: int | None = None,
    expires_at: datetime | None = None,
    enable: bool = True,
    slot: int | None = None,
) -> str:
    """A guest link row as the management package creates it; turns guest access on. Returns the token."""
    token = secrets.token_urlsafe(24)
    with app.app_context():
        room = db.session.get(Room, room_id)
        room.guest_access_enabled = enable
        if db.session.execute(select(GuestGroup).filter_by(room_id=room_id)).scalar_one_or_none() is None:
            db.session.add(GuestGroup(room_id=room_id, name=f"Guests of {room.title}"))
        used = {link.slot for link in room.links}
        db.session.add(
            GuestLink(
                room_id=room_id,
                slot=slot or min({1, 2, 3} - used),
                token=token,
                name=name,
                max_clicks=max_clicks,
                expires_at=expires_at,
                created_by="u:test|instructor",
            )
        )
        db.session.commit()
    return token


def set_room(app, room_id: str, **values) -> None:
    with app.app_context():
        room = db.session.get(Room, room_id)
        for key, value in values.items():
            setattr(room, key, value)
        db.session.commit()


def form_token(html: str) -> str:
    match = FORM_TOKEN.search(html)
    assert match, html[:500]
    return match.group(1)


def join(browser, token: str, name: str = "Ada Lovelace", email: str = "ada@example.org", **extra):
    """Open the link and submit the entry form, as a guest's browser does."""
    page = browser.get(f"/g/{token}")
    data = {"name": name, "email": email, "form_token": form_token(page.get_data(as_text=True))}
    data.update(extra)
    return browser.post(f"/g/{token}", data=data)


@pytest.fixture
def host(launch):
    """An instructor launched into a room: `.room_id`, `.headers` (launch token)."""
    result = launch("Instructor")
    assert result.room_id, result.html[:300]
    return result


def launch_other_room(app, platform, role: str = "Instructor"):
    """A launch into a second placement (another resource link) of the same Sakai site."""
    other_link = {"id": "content:99", "title": "Other room", "description": ""}
    return do_launch(app.test_client(), platform, role, **{sakai.C + "resource_link": other_link})


@pytest.fixture
def browser(app):
    """A guest's browser: a test client with its own cookie jar."""
    return lambda: app.test_client()


@pytest.fixture
def link(app, host):
    return add_link(app, host.room_id)


def soon(**delta) -> datetime:
    return utcnow() + timedelta(**delta)
