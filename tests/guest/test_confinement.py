"""A guest session reaches its own room's guest pages and nothing else of the tool."""

from __future__ import annotations

import pytest
from flask import jsonify

from lti_tool.guest.confine import admitted_guest, guest_route
from tests.guest.conftest import add_link, join, launch_other_room, set_room


@pytest.fixture
def guest_inside(app, host, link, browser):
    set_room(app, host.room_id, admission_required=False)
    guest = browser()
    join(guest, link)
    return guest


def test_guest_is_refused_on_management_routes_of_their_room(host, guest_inside):
    for method, path in [
        ("get", f"/api/rooms/{host.room_id}/guests/waiting"),
        ("patch", f"/api/rooms/{host.room_id}/admission"),
        ("delete", f"/api/rooms/{host.room_id}/guests/someone"),
    ]:
        response = getattr(guest_inside, method)(path, json={"required": False})
        assert response.status_code == 403, path
        assert response.get_json()["code"] == "guest_confined"
    # Admission itself is open to invited moderators (tests/invites): a link's guest is no moderator.
    for path in ("/guests/admit-all", "/guests/someone/admit", "/guests/someone/decline"):
        response = guest_inside.post(f"/api/rooms/{host.room_id}{path}", json={})
        assert response.status_code == 403, path
        assert response.get_json()["code"] == "not_moderator"


def test_guest_of_room_a_cannot_reach_room_b(app, platform, guest_inside):
    other = launch_other_room(app, platform)
    add_link(app, other.room_id)
    set_room(app, other.room_id, admission_required=False)
    assert guest_inside.get(f"/g/room/{other.room_id}").status_code == 403
    assert guest_inside.post(f"/api/rooms/{other.room_id}/guests/admit-all").status_code == 403


def test_a_forged_launch_token_does_not_lift_the_confinement(host, guest_inside):
    response = guest_inside.get(
        f"/api/rooms/{host.room_id}/guests/waiting", headers={"X-Launch-Token": "forged.token.value"}
    )
    assert response.status_code == 403


def test_a_host_testing_their_own_link_in_the_same_browser_keeps_working(app, host, link, client):
    # The host's browser (the `client` that launched) joins as a guest too.
    join(client, link)
    response = client.get(f"/api/rooms/{host.room_id}/guests/waiting", headers=host.headers)
    assert response.status_code == 200 and len(response.get_json()["guests"]) == 1


def test_a_stale_cookie_confines_nothing(app, host, client):
    client.set_cookie("guest_session", "not-a-session")
    response = client.get(f"/api/rooms/{host.room_id}/guests/waiting", headers=host.headers)
    assert response.status_code == 200


def test_routes_marked_for_guests_open_only_for_their_room(make_app, platform):
    app = make_app()

    @guest_route
    def state(room_id):
        return jsonify(room_id=room_id, guest=admitted_guest(room_id).participant_key)

    app.add_url_rule("/api/rooms/<room_id>/demo-state", view_func=state)
    host = launch_other_room(app, platform)
    token = add_link(app, host.room_id)
    guest = app.test_client()
    join(guest, token)
    waiting = guest.get(f"/api/rooms/{host.room_id}/demo-state")
    assert waiting.status_code == 403 and waiting.get_json()["code"] == "guest_not_admitted"
    app.test_client().post(f"/api/rooms/{host.room_id}/guests/admit-all", headers=host.headers)
    inside = guest.get(f"/api/rooms/{host.room_id}/demo-state")
    assert inside.status_code == 200 and inside.get_json()["guest"].startswith("g:")
    assert guest.get("/api/rooms/elsewhere/demo-state").status_code == 403
