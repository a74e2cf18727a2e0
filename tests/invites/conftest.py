"""Invitation fixtures: a real SMTP server (aiosmtpd) that keeps what it receives, the "Invite users"
API as the dialog calls it, and an invitee's own browser (a test client of their own) entering by
the link from the email."""

from __future__ import annotations

import re
import socket
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests import sakai
from tests.conftest import do_launch, tool_config
from tests.guest.conftest import form_token

# The media tests' real Janus, Chromium WebRTC peers and launched room, for test_roles.
from tests.media.conftest import _chromium, janus_server, media_app, media_room, webrtc  # noqa: F401

LINK = re.compile(r"https?://[^\s\"<>]+/i/[A-Za-z0-9_-]+")


class Inbox:
    """aiosmtpd's handler: every message the server accepted, parsed. `refuse` makes it answer 550."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook name
        if self.refuse:
            return "550 Mailbox unavailable"
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def last(self) -> EmailMessage:
        assert self.messages, "no email arrived"
        return self.messages[-1]

    @staticmethod
    def parts(message: EmailMessage) -> tuple[str, str]:
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        return text, html

    def link(self, message: EmailMessage | None = None) -> str:
        text, _ = self.parts(message or self.last())
        found = LINK.findall(text)
        assert len(set(found)) == 1, text
        return found[0]


@contextmanager
def smtp_server():
    """A real SMTP server on 127.0.0.1 (aiosmtpd, in a thread of its own) and its Inbox."""
    inbox = Inbox()
    # aiosmtpd's start() connects to the port it was given to check the server is up: not port 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        inbox.port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp():
    with smtp_server() as inbox:
        yield inbox


def mail_config(inbox: Inbox) -> dict:
    return {"smtp_host": "127.0.0.1", "smtp_port": inbox.port, "from": "Rooms <rooms@tool.test>"}


@pytest.fixture
def mail_app(make_app, platform, smtp):
    return make_app(config=tool_config(platform, mail=mail_config(smtp)))


class Invites:
    """The dialog's calls, as the page makes them (launch token header)."""

    def __init__(self, client, launched, room_id: str | None = None):
        self.client = client
        self.headers = launched.headers
        self.room_id = room_id or launched.room_id

    def url(self, path: str = "") -> str:
        return f"/api/rooms/{self.room_id}/invitations{path}"

    def list(self):
        return self.client.get(self.url(), headers=self.headers)

    def create(self, name="Ada Lovelace", email="ada@example.org", role="viewer", **fields):
        body = {"name": name, "email": email, "role": role, **fields}
        return self.client.post(self.url(), json=body, headers=self.headers)

    def action(self, invitation_id: str, verb: str):
        return self.client.post(self.url(f"/{invitation_id}/{verb}"), json={}, headers=self.headers)


def host_launch(client, platform, **claims):
    return do_launch(client, platform, "Instructor", user="host-1", name="Hannah Host", **claims)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def enter(browser, url: str, name: str | None = None, **extra):
    """Open the invitation and confirm the name, as the invitee's browser does."""
    path = path_of(url)
    page = browser.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    html = page.get_data(as_text=True)
    data = {"form_token": form_token(html)}
    data["name"] = name if name is not None else re.search(r'id="guest-name" name="name" value="([^"]*)"', html)[1]
    data.update(extra)
    return browser.post(path, data=data)


C = sakai.C
OTHER_PLACEMENT = {
    "login": {"content": 13},
    C + "resource_link": {"id": "content:13", "title": "Office hours", "description": ""},
}
