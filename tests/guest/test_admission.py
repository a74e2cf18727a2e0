"""Waiting room and admission: hosts and moderators admit or decline, one decision per guest."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.guest import service
from lti_tool.models import AuditEvent, Guest, Room
from tests import sakai
from tests.conftest import do_launch
from tests.guest.conftest import add_link, form_token, join, launch_other_room


def waiting(app, host) -> list[dict]:
    response = app.test_client().get(f"/api/rooms/{host.room_id}/guests/waiting", headers=host.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["guests"]


def act(app, host, path: str, method: str = "post", **kwargs):
    return getattr(app.test_client(), method)(f"/api/rooms/{host.room_id}{path}", headers=host.headers, **kwargs)


def version(app, room_id: str) -> int:
    with app.app_context():
        return db.session.get(Room, room_id).version


def test_wait_then_admit_then_session(app, host, link, browser):
    guest = browser()
    place = join(guest, link, name="Grace Hopper", email="grace@example.org").headers["Location"]
    page = guest.get(place).get_data(as_text=True)
    assert "Waiting for a moderator to let you in…" in page
    assert 'role="status" aria-live="polite"' in page
    assert 'src="/static/guest_wait.js"' in page
    assert guest.get("/g/api/status").get_json() == {"status": "waiting"}

    [entry] = waiting(app, host)
    assert entry["name"] == "Grace Hopper" and entry["email"] == "grace@example.org"
    assert entry["link_name"] == "Guest speakers" and entry["waiting_since"].endswith("Z")
    before = version(app, host.room_id)
    response = act(app, host, f"/guests/{entry['id']}/admit")
    assert response.status_code == 200 and response.get_json()["status"] == "admitted"
    assert version(app, host.room_id) == before + 1

    assert guest.get("/g/api/status").get_json() == {"status": "admitted"}
    inside = guest.get(place)
    assert inside.status_code == 200
    assert "Waiting for a moderator" not in inside.get_data(as_text=True)
    assert "You are a guest" in inside.get_data(as_text=True)
    assert waiting(app, host) == []


def test_wait_then_decline_and_no_retry_with_that_session(app, host, link, browser):
    guest = browser()
    place = join(guest, link).headers["Location"]
    [entry] = waiting(app, host)
    assert act(app, host, f"/guests/{entry['id']}/decline").get_json()["status"] == "declined"
    assert guest.get("/g/api/status").get_json() == {"status": "declined"}
    assert guest.get(place).status_code == 403
    # The declined session stays declined: admitting it later is refused, the page stays the same.
    again = act(app, host, f"/guests/{entry['id']}/admit")
    assert again.status_code == 409 and "already been declined" in again.get_json()["error"]
    assert guest.get(place).status_code == 403


def test_admit_all(app, host, link, browser):
    guests = [browser() for _ in range(3)]
    for i, guest in enumerate(guests):
        join(guest, link, name=f"Guest {i}", email=f"g{i}@example.org")
    assert [g["name"] for g in waiting(app, host)] == ["Guest 0", "Guest 1", "Guest 2"]
    assert act(app, host, "/guests/admit-all").get_json() == {"admitted": 3}
    assert all(g.get("/g/api/status").get_json()["status"] == "admitted" for g in guests)
    assert act(app, host, "/guests/admit-all").get_json() == {"admitted": 0}


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_moderators_admitting_at_once_admit_once(make_app, platform, database):
    app = make_app(database=database)
    host = do_launch(app.test_client(), platform, "Instructor")
    ta = do_launch(app.test_client(), platform, "TeachingAssistant")
    join(app.test_client(), add_link(app, host.room_id))
    [entry] = waiting(app, host)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def admit(who):
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/rooms/{host.room_id}/guests/{entry['id']}/admit", headers=who.headers)
        results.append(response.status_code)

    threads = [threading.Thread(target=admit, args=(who,)) for who in (host, ta)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    with app.app_context():
        assert db.session.execute(select(Guest.status)).scalar_one() == "admitted"
        actions = db.session.execute(select(AuditEvent.action)).scalars().all()
        assert actions.count("guest.admit") == 1


def test_deleting_a_guest_erases_the_record_at_once(app, host, link, browser):
    guest = browser()
    place = join(guest, link).headers["Location"]
    [entry] = waiting(app, host)
    assert act(app, host, f"/guests/{entry['id']}", method="delete").status_code == 204
    with app.app_context():
        assert db.session.get(Guest, entry["id"]) is None
        detail = db.session.execute(select(AuditEvent.detail)).scalar_one()
    assert detail == {"guest_id": entry["id"]}  # no name or email in the audit trail
    assert guest.get(place).status_code == 403
    assert act(app, host, f"/guests/{entry['id']}", method="delete").status_code == 404


def test_admission_setting_defaults_on_and_hosts_can_turn_it_off(app, host, link, browser):
    with app.app_context():
        assert db.session.get(Room, host.room_id).admission_required is True
    response = act(app, host, "/admission", method="patch", json={"required": False})
    assert response.get_json() == {"required": False, "admitted": 0}
    guest = browser()
    join(guest, link)
    assert guest.get("/g/api/status").get_json() == {"status": "admitted"}
    bad = act(app, host, "/admission", method="patch", json={"required": "no"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "required"


def test_turning_admission_off_lets_in_the_guests_already_waiting(app, host, link, browser):
    waiting_guests = [browser() for _ in range(3)]
    for i, guest in enumerate(waiting_guests):
        join(guest, link, name=f"Guest {i}", email=f"g{i}@example.org")
    declined = browser()
    join(declined, link, name="Dan Declined", email="dan@example.org")
    act(app, host, f"/guests/{waiting(app, host)[-1]['id']}/decline")
    before = version(app, host.room_id)

    response = act(app, host, "/admission", method="patch", json={"required": False})
    assert response.status_code == 200
    assert response.get_json() == {"required": False, "admitted": 3}  # the page tells the host how many
    assert [g.get("/g/api/status").get_json()["status"] for g in waiting_guests] == ["admitted"] * 3
    assert declined.get("/g/api/status").get_json()["status"] == "declined"  # a decision stands
    assert waiting(app, host) == [] and version(app, host.room_id) > before
    with app.app_context():
        trail = db.session.execute(
            select(AuditEvent.detail).where(AuditEvent.action == "room.admission_required")
        ).scalar_one()
    assert trail == {"required": False, "admitted": 3}

    # Turning it on again admits no one; the next guest waits.
    assert act(app, host, "/admission", method="patch", json={"required": True}).get_json() == {
        "required": True,
        "admitted": 0,
    }
    late = browser()
    join(late, link, name="Late Guest", email="late@example.org")
    assert late.get("/g/api/status").get_json() == {"status": "waiting"}


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_no_guest_is_left_waiting_by_joins_racing_the_switch_off(make_app, platform, database):
    app = make_app(database=database, GUEST_RATE_LIMITS={"post_per_ip": 1000, "post_per_link": 1000})
    host = do_launch(app.test_client(), platform, "Instructor")
    token = add_link(app, host.room_id)
    guests = 16
    barrier = threading.Barrier(guests + 1)
    answers: dict[str, object] = {}

    def guest(i: int) -> None:
        client = app.test_client()
        page = client.get(f"/g/{token}").get_data(as_text=True)
        barrier.wait()
        data = {"name": f"Guest {i}", "email": f"g{i}@example.org", "form_token": form_token(page)}
        answers[f"g{i}"] = client.post(f"/g/{token}", data=data).status_code

    def switch_off() -> None:
        barrier.wait()
        answers["switch"] = act(app, host, "/admission", method="patch", json={"required": False}).get_json()

    threads = [threading.Thread(target=guest, args=(i,)) for i in range(guests)]
    threads.append(threading.Thread(target=switch_off))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [answers[f"g{i}"] for i in range(guests)] == [303] * guests
    with app.app_context():
        statuses = db.session.execute(select(Guest.status)).scalars().all()
    # Whether a join landed before the switch (let in by it) or after (admitted at once), nobody waits.
    assert statuses == ["admitted"] * guests
    assert 0 <= answers["switch"]["admitted"] <= guests


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/guests/{gid}/admit"),
        ("post", "/guests/{gid}/decline"),
        ("post", "/guests/admit-all"),
        ("delete", "/guests/{gid}"),
        ("get", "/guests/waiting"),
        ("patch", "/admission"),
    ],
)
def test_students_cannot_admit(app, host, link, browser, platform, method, path):
    join(browser(), link)
    [entry] = waiting(app, host)
    student = do_launch(app.test_client(), platform, "Student")
    response = getattr(app.test_client(), method)(
        f"/api/rooms/{host.room_id}" + path.format(gid=entry["id"]), headers=student.headers, json={"required": False}
    )
    assert response.status_code == 403
    assert waiting(app, host)[0]["id"] == entry["id"]


def test_a_moderator_of_another_room_cannot_admit(app, host, link, browser, platform):
    join(browser(), link)
    [entry] = waiting(app, host)
    other = launch_other_room(app, platform)
    assert other.room_id != host.room_id
    response = app.test_client().post(f"/api/rooms/{host.room_id}/guests/{entry['id']}/admit", headers=other.headers)
    assert response.status_code == 403
    # Nor through their own room's URL with this room's guest id.
    response = app.test_client().post(f"/api/rooms/{other.room_id}/guests/{entry['id']}/admit", headers=other.headers)
    assert response.status_code == 404


def test_waiting_guests_shape_is_public(app, host, link, browser):
    join(browser(), link)
    with app.app_context():
        [entry] = service.waiting_guests(host.room_id)
    assert set(entry) == {"id", "name", "email", "link_name", "waiting_since", "last_seen_at"}


def test_admission_survives_a_restart(app, host, link, browser, make_app):
    guest = browser()
    join(guest, link)
    [entry] = waiting(app, host)
    act(app, host, f"/guests/{entry['id']}/admit")
    restarted = make_app(database_url=app.config["SQLALCHEMY_DATABASE_URI"])
    guest_cookie = guest.get_cookie("guest_session").value
    other = restarted.test_client()
    other.set_cookie("guest_session", guest_cookie)
    assert other.get("/g/api/status").get_json() == {"status": "admitted"}


def test_unused_link_tokens_do_not_make_waiting_entries(app, host):
    add_link(app, host.room_id)
    assert waiting(app, host) == []


def test_admission_api_refuses_where_guest_access_is_unavailable(app, host, link, browser, platform):
    """Same guard as the links API: a later launch makes the room a media gallery → every admission
    route answers 403; only erasing a guest's record stays possible."""
    join(browser(), link)
    [entry] = waiting(app, host)
    gallery = do_launch(
        app.test_client(), platform, "Instructor", **{sakai.C + "custom": {"room_type": "mediagallery"}}
    )
    assert gallery.room_id == host.room_id
    for method, path, kwargs in [
        ("get", "/guests/waiting", {}),
        ("post", f"/guests/{entry['id']}/admit", {}),
        ("post", f"/guests/{entry['id']}/decline", {}),
        ("post", "/guests/admit-all", {}),
        ("patch", "/admission", {"json": {"required": False}}),
    ]:
        response = act(app, gallery, path, method, **kwargs)
        assert response.status_code == 403, (path, response.get_json())
        assert response.get_json()["code"] == "guest_access_unavailable"
    with app.app_context():
        assert db.session.get(Guest, entry["id"]).status == service.WAITING

    response = act(app, gallery, f"/guests/{entry['id']}", "delete")
    assert response.status_code == 204
    with app.app_context():
        assert db.session.get(Guest, entry["id"]) is None
