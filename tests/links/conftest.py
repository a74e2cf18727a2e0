"""Helpers for guest-link tests: a JSON API client bound to one launch, and a room in the database."""

from __future__ import annotations

import pytest

from lti_tool.extensions import db
from lti_tool.links import service
from lti_tool.models import Room
from tests import sakai

C = sakai.C
OTHER_PLACEMENT = {
    "login": {"content": 13},
    C + "resource_link": {"id": "content:13", "title": "Office hours", "description": ""},
}


class Api:
    """The "Manage guest access" window's calls, as the page makes them (launch token header)."""

    def __init__(self, client, launched, room_id: str | None = None):
        self.client = client
        self.headers = launched.headers
        self.room_id = room_id or launched.room_id

    def url(self, path: str) -> str:
        return f"/api/rooms/{self.room_id}{path}"

    def list(self, **kw):
        return self.client.get(self.url("/links"), headers=kw.pop("headers", self.headers), **kw)

    def create(self, name="Guest speakers", headers=None, **fields):
        body = {"name": name, **fields}
        return self.client.post(self.url("/links"), json=body, headers=headers or self.headers)

    def delete(self, link_id: str, headers=None):
        return self.client.delete(self.url(f"/links/{link_id}"), headers=headers or self.headers)

    def toggle(self, enabled, headers=None):
        return self.client.post(self.url("/guest-access"), json={"enabled": enabled}, headers=headers or self.headers)

    def delete_group(self, headers=None):
        return self.client.delete(self.url("/guest-group"), headers=headers or self.headers)


@pytest.fixture
def api(client):
    def bind(launched, room_id: str | None = None) -> Api:
        return Api(client, launched, room_id)

    return bind


@pytest.fixture
def host(launch):
    return launch("Instructor")


@pytest.fixture
def host_api(api, host):
    return api(host)


@pytest.fixture(params=["Instructor", "TeachingAssistant"], ids=["host", "moderator"])
def manager(request, launch):
    """A launched host, then a launched moderator (Sakai's TA role)."""
    return launch(request.param, user=f"{request.param.lower()}-1")


@pytest.fixture
def manager_api(api, manager):
    return api(manager)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_ctx(request, make_app):
    """An app context on SQLite, then on PostgreSQL (when TEST_DATABASE_URL is set)."""
    app = make_app(database=request.param)
    with app.app_context():
        yield
        db.session.rollback()


def make_room(title: str = "Weekly seminar", link_id: str = "content:12") -> Room:
    room = Room(
        issuer=sakai.ISSUER,
        client_id=sakai.CLIENT_ID,
        deployment_id=sakai.DEPLOYMENT_ID,
        context_id="site-1",
        resource_link_id=link_id,
        title=title,
    )
    db.session.add(room)
    db.session.flush()
    return room


@pytest.fixture
def room(db_ctx):
    return make_room()


ACTOR = service.Actor(sub="https://sakai.test/user/5b1f7c2e", name="Jane Smith")
