"""Helpers for the live session: a room with a launched host, guests made as rows with a cookie."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from lti_tool.extensions import db
from lti_tool.guest.identity import COOKIE_NAME, new_session_secret
from lti_tool.models import Guest
from tests.sakai import DROP


@dataclass
class GuestUser:
    id: str
    client: FlaskClient
    name: str


class Room:
    """The story's room: launch people into it and call its API as them."""

    def __init__(self, app, client, launch):
        self.app = app
        self.client = client
        self._launch = launch
        self.host = launch("Instructor", user="host-1", name="Hannah Host")
        self.id = self.host.room_id

    def launch(self, role="Student", user="student-1", name: object = "Sam Student"):
        if name is None:
            return self._launch(role, user=user, name=DROP, given_name=DROP, family_name=DROP)
        return self._launch(role, user=user, name=name)

    def call(self, who, method, path, json=None, headers=None):
        """`who` is a launch result (token header) or a GuestUser (cookie)."""
        url = f"/api/rooms/{self.id}{path}"
        if isinstance(who, GuestUser):
            return who.client.open(url, method=method, json=json if json is not None else {}, headers=headers)
        return self.client.open(url, method=method, json=json, headers={**who.headers, **(headers or {})})

    def state(self, who, since=0, etag=None, people=""):
        headers = {"If-None-Match": etag} if etag else None
        return self.call(who, "GET", f"/state?since={since}&people={people}", headers=headers)

    def poll_again(self, who, previous, etag=None):
        """The next poll of a page that holds `previous` (its chat cursor and people list)."""
        body = previous.get_json()
        return self.state(
            who, since=body["chat"]["cursor"], people=body["people_cursor"], etag=etag or previous.headers["ETag"]
        )

    def start(self):
        response = self.call(self.host, "POST", "/session/start")
        assert response.status_code == 200, response.get_json()

    def guest(self, status="admitted", name="Grace Guest", email="grace@example.org", room_id=None) -> GuestUser:
        value, digest = new_session_secret()
        with self.app.app_context():
            row = Guest(
                room_id=room_id or self.id,
                link_name="Seminar link",
                name=name,
                email=email,
                status=status,
                session_hash=digest,
            )
            db.session.add(row)
            db.session.commit()
            guest_id = row.id
        client = self.app.test_client()
        client.set_cookie(COOKIE_NAME, value)
        return GuestUser(guest_id, client, name)


@pytest.fixture
def room(app, client, launch):
    return Room(app, client, launch)
