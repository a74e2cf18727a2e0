"""The invitation rules: what the Invite form accepts, expiry on a controlled clock, the 50-open cap
(also under 50-way concurrency, on SQLite and PostgreSQL), retention, and logs without secrets."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from lti_tool.config import ConfigError, load_settings
from lti_tool.extensions import db
from lti_tool.invites import service
from lti_tool.models import AuditEvent, Guest, Invitation
from tests.conftest import tool_config
from tests.invites.conftest import Invites, enter, host_launch, mail_config, path_of


@pytest.fixture
def host(app, platform, client):
    return host_launch(client, platform)


@pytest.fixture
def invites(client, host):
    return Invites(client, host)


def stored(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count(Invitation.id))).scalar_one()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address, like name@example.com."),
        ({"email": "a@example.org, b@example.org"}, "email", "Enter one email address only."),
        ({"email": ""}, "email", "Enter the email address of the person you invite."),
        ({"email": 42}, "email", "Enter the email address of the person you invite."),
        ({"role": "owner"}, "role", service.ROLE_INVALID),
        ({"role": ["viewer"]}, "role", service.ROLE_INVALID),
        ({"name": "x" * 10_000}, "name", "The name can be at most 80 characters."),
        ({"name": "   "}, "name", "Enter the name of the person you invite."),
        ({"name": "Ada\u202eecalevoL"}, "name", service._NAME_MESSAGES["invisible"]),
        ({"name": "<script>"}, "name", "The name can't contain < or >."),
        ({"duration_days": 0}, "duration_days", service.DAYS_INVALID),
        ({"duration_days": "two"}, "duration_days", service.DAYS_INVALID),
        ({"duration_days": 366}, "duration_days", service.DAYS_INVALID),
    ],
)
def test_invalid_input_is_refused_with_a_clear_message_and_nothing_is_stored(app, invites, fields, field, message):
    body = {"name": "Ada Lovelace", "email": "ada@example.org", "role": "viewer", **fields}
    response = invites.client.post(invites.url(), json=body, headers=invites.headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == message
    assert response.get_json()["field"] == field
    assert stored(app) == 0
    with app.app_context():
        assert db.session.execute(select(AuditEvent).where(AuditEvent.action.like("invite.%"))).first() is None


def test_role_defaults_to_viewer(invites):
    response = invites.client.post(
        invites.url(), json={"name": "Ada", "email": "ada@example.org"}, headers=invites.headers
    )
    assert response.status_code == 201
    assert response.get_json()["invitations"][0]["role"] == "viewer"


def test_a_body_that_is_not_a_json_object_is_refused(invites, app):
    response = invites.client.post(invites.url(), data="name=Ada", headers=invites.headers)
    assert response.status_code == 400
    assert stored(app) == 0


def test_an_invitation_expires_on_the_controlled_clock(app, platform, invites, frozen_clock):
    body = invites.create(duration_days=2).get_json()
    link = body["copy"]["url"]
    inside = app.test_client()
    assert enter(inside, link).status_code == 303
    frozen_clock.advance(days=1, hours=23, minutes=59)
    assert app.test_client().get(path_of(link)).status_code == 200
    assert inside.get(f"/g/room/{invites.room_id}").status_code == 200

    frozen_clock.advance(minutes=1)
    refused = app.test_client().get(path_of(link))
    assert refused.status_code == 404 and "This link is no longer valid" in refused.get_data(as_text=True)
    # An invitee inside learns it at their next page load (like a guest link's expiry), and is out.
    again = inside.get(f"/g/room/{invites.room_id}")
    assert again.status_code == 404
    assert inside.get(f"/api/rooms/{invites.room_id}/state").status_code == 403
    relaunched = Invites(invites.client, host_launch(invites.client, platform))  # the first launch expired too
    state = relaunched.list().get_json()
    assert state["invitations"][0]["status"] == "expired"
    assert state["open_count"] == 0  # an expired invitation no longer takes a place under the cap


def test_fifty_open_invitations_then_a_clear_refusal_and_revoke_frees_a_place(app, invites):
    ids = []
    for i in range(service.MAX_OPEN):
        response = invites.create(name=f"Person {i}", email=f"p{i}@example.org")
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["invitation"]["id"])
    refused = invites.create(name="One too many", email="late@example.org")
    assert refused.status_code == 409
    assert (refused.get_json()["error"], refused.get_json()["code"]) == (service.LIMIT_REACHED, "invitation_limit")
    listed = invites.list().get_json()
    assert (listed["open_count"], listed["can_invite"]) == (50, False)
    assert listed["invite_disabled_reason"] == service.LIMIT_REACHED
    assert invites.action(ids[0], "revoke").status_code == 200
    assert invites.create(name="Now there is room", email="late@example.org").status_code == 201
    assert stored(app) == 51


@pytest.fixture
def serve():
    servers = []

    def start(app) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


PARALLEL = 50


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_cap_holds_under_fifty_simultaneous_invites(make_app, platform, serve, database):
    app = make_app(database=database)
    client = app.test_client()
    launched = host_launch(client, platform)
    api = Invites(client, launched)
    for i in range(10):  # ten places taken already: 40 of the 50 simultaneous invites fit
        assert api.create(name=f"Early {i}", email=f"early{i}@example.org").status_code == 201
    base = serve(app)
    start = threading.Barrier(PARALLEL)

    def invite(i: int) -> requests.Response:
        start.wait()  # all requests leave together
        body = {"name": f"Person {i}", "email": f"p{i}@example.org", "role": "viewer"}
        return requests.post(f"{base}{api.url()}", json=body, headers=launched.headers, timeout=120)

    with ThreadPoolExecutor(PARALLEL) as pool:
        responses = list(pool.map(invite, range(PARALLEL)))

    assert Counter(r.status_code for r in responses) == {201: 40, 409: 10}
    assert all(r.json()["code"] == "invitation_limit" for r in responses if r.status_code == 409)
    with app.app_context():
        open_rows = db.session.execute(
            select(func.count(Invitation.id)).where(Invitation.room_id == launched.room_id)
        ).scalar_one()
    assert open_rows == 50


def test_retention_deletes_old_invitations_with_their_name_and_email(make_app, platform, frozen_clock):
    app = make_app(config=tool_config(platform, guests={"retention_days": 7}))
    client = app.test_client()
    api = Invites(client, host_launch(client, platform))
    old = api.create(name="Old invitee", email="old@example.org").get_json()
    enter(app.test_client(), old["copy"]["url"])
    frozen_clock.advance(days=6, hours=23)
    api = Invites(client, host_launch(client, platform))  # a launch of today
    assert api.create(name="Recent invitee", email="recent@example.org").status_code == 201
    frozen_clock.advance(hours=2)

    result = app.test_cli_runner().invoke(args=["lti", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 invitation(s) older than 7 day(s)" in result.output
    with app.app_context():
        assert set(db.session.execute(select(Invitation.name)).scalars()) == {"Recent invitee"}
        assert db.session.execute(select(Guest)).first() is None  # the invitee's guest record went too
    assert app.test_client().get(path_of(old["copy"]["url"])).status_code == 404


def test_tokens_and_emails_never_reach_the_logs(make_app, platform, smtp, caplog):
    app = make_app(config=tool_config(platform, mail=mail_config(smtp)))
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    api = Invites(client, host_launch(client, platform))
    created = api.create(email="secret.person@example.org", role="speaker").get_json()
    link = smtp.link()
    invitee = app.test_client()
    enter(invitee, link)
    smtp.refuse = True
    api.action(created["invitation"]["id"], "resend")
    app.test_client().get(path_of(link))  # a revoked token: a refusal that is logged
    app.test_client().get("/i/" + "x" * 43)
    token = path_of(link).rsplit("/", 1)[1]
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)
    assert "invitation email" in logged  # the sends were logged, by id
    assert token not in logged
    assert "secret.person@example.org" not in logged and "secret.person" not in logged


def test_the_access_log_hides_an_invitation_token():
    from lti_tool.guest.accesslog import redact
    from lti_tool.logging_setup import redact as redact_text

    assert redact("/i/SHORTtoken?x=1") == "/i/…?x=1"
    assert "SHORTtoken" not in redact_text("GET /i/SHORTtoken HTTP/1.1")


@pytest.mark.parametrize(
    ("mail", "problem"),
    [
        ({"smtp_host": "smtp.example.edu"}, "mail.from"),
        ({"smtp_host": "smtp.example.edu", "from": "x@example.edu", "smtp_port": 0}, "mail.smtp_port"),
        ({"smtp_host": "smtp.example.edu", "from": "x@example.edu", "starttls": "yes"}, "mail.starttls"),
        ({"smtp_host": "smtp.example.edu", "from": "x@example.edu", "username": "u"}, "username and password"),
        ({"smtp_host": "bad host!", "from": "x@example.edu"}, "mail.smtp_host"),
        ({"smtp_host": "smtp.example.edu", "from": "x@example.edu", "tls": True}, "unknown key 'tls'"),
    ],
)
def test_a_wrong_mail_block_is_one_clear_config_error(platform, mail, problem):
    with pytest.raises(ConfigError, match=problem):
        load_settings({"config": tool_config(platform, mail=mail), "TESTING": True})


def test_the_mail_block_is_read_and_its_password_never_printed(platform):
    settings = load_settings(
        {
            "config": tool_config(
                platform,
                mail={
                    "smtp_host": "smtp.example.edu",
                    "starttls": True,
                    "username": "rooms",
                    "password": "hunter2-secret",
                    "from": "Rooms <rooms@example.edu>",
                },
            ),
            "TESTING": True,
        }
    )
    assert (settings.mail.smtp_port, settings.mail.starttls, settings.mail.sender) == (
        587,
        True,
        "Rooms <rooms@example.edu>",
    )
    assert "hunter2" not in repr(settings.mail)
    assert load_settings({"config": tool_config(platform), "TESTING": True}).mail is None


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_revoke_racing_twenty_entries_leaves_nobody_inside(make_app, platform, serve, database):
    import re

    app = make_app(database=database)
    client = app.test_client()
    launched = host_launch(client, platform)
    api = Invites(client, launched)
    url = api.create().get_json()["copy"]["url"]
    invitation = api.list().get_json()["invitations"][0]["id"]
    base = serve(app)
    path = path_of(url)
    browsers = []
    for _ in range(20):  # each opened the page (form token and cookie) before the race
        page = requests.get(base + path, timeout=30)
        # The form cookie is Secure (the tool's base URL is https): sent by hand over this http server.
        cookie = f"invite_form={page.cookies['invite_form']}"
        browsers.append((cookie, re.search(r'name="form_token" value="([^"]+)"', page.text)[1]))
    start = threading.Barrier(21)

    def go_in(browser) -> int:
        cookie, token = browser
        start.wait()
        return requests.post(
            base + path,
            data={"name": "Ada", "form_token": token},
            headers={"Cookie": cookie},
            allow_redirects=False,
            timeout=60,
        ).status_code

    def revoke() -> int:
        start.wait()
        return requests.post(
            f"{base}{api.url(f'/{invitation}/revoke')}", json={}, headers=launched.headers, timeout=60
        ).status_code

    with ThreadPoolExecutor(21) as pool:
        entries = [pool.submit(go_in, b) for b in browsers]
        revoked = pool.submit(revoke)
        statuses = Counter(f.result() for f in entries)
    assert revoked.result() == 200
    assert set(statuses) <= {303, 404}, statuses
    with app.app_context():
        inside = db.session.execute(
            select(func.count(Guest.id)).where(Guest.invitation_id == invitation, Guest.status == "admitted")
        ).scalar_one()
    assert inside == 0  # whoever got in before the revoke was ended by it; nobody got in after
