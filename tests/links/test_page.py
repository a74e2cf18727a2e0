"""The "Manage guest access" window as the media page ships it (the script fills it in)."""

from __future__ import annotations

import re

from tests.sakai import MEMBERSHIP


def test_host_page_has_the_manage_guest_access_window(launch):
    html = launch("Instructor").html
    for text in (
        '<h2 id="guest-access-title">Manage guest access</h2>',
        "Allow link-based access without sign-in. Up to 3 guest links available.",
        '<label for="guest-access-toggle">Enable guest access</label>',
        "Create new link",
        '<th scope="col">Link name</th>',
        '<th scope="col">Expiration date</th>',
        '<th scope="col"># of clicks</th>',
        '<th scope="col">Actions</th>',
        'role="status" aria-live="polite"',
        "guest_links.js",
    ):
        assert text in html, text
    assert re.search(r'<input type="checkbox" role="switch"[^>]*id="guest-access-toggle"', html)
    room = re.search(r'<meta name="room-id" content="([^"]+)"', html)[1]
    assert f'<meta name="guest-links-url" content="/api/rooms/{room}/links">' in html
    assert f'<meta name="guest-access-url" content="/api/rooms/{room}/guest-access">' in html


def test_create_link_window_states_its_rules_up_front(launch):
    html = launch("Instructor").html
    for text in (
        '<h2 id="create-link-title">Create new link</h2>',
        "Allow anyone with this link to join this room without signing in.",
        '<label for="link-name">Link Name <span aria-hidden="true">*</span></label>',
        '<label for="link-max-clicks">Max. number of guests who can join</label>',
        "1–10,000; empty = no limit. Only guests who join count, not opening the link.",
        '<label for="link-duration">Expires after</label>',
        '<span id="link-duration-unit">days</span>',
        "1–365; empty = never.",
        ">Cancel</button>",
        ">Create</button>",
    ):
        assert text in html, text
    assert re.search(r'id="link-name"[^>]*required', html)


def test_confirmations_say_what_happens(launch):
    html = launch("Instructor").html
    assert "Deleted links can't be restored." in html
    assert "All guest links become inactive" in html
    assert "Guests already inside stay until they refresh or leave." in html


def test_moderator_gets_the_window_and_viewer_does_not(launch):
    assert 'id="guest-access-dialog"' in launch([MEMBERSHIP + "Instructor#TeachingAssistant"]).html
    viewer = launch("Student").html
    assert 'id="guest-access-dialog"' not in viewer and "guest_links.js" not in viewer


def test_window_has_no_inline_script_or_style(launch):
    """CSP forbids inline script and style; the window must not rely on them."""
    html = launch("Instructor").html
    start = html.index('<link rel="stylesheet" href="/static/guest_links.css">')
    window = html[start : html.index("</script>", html.index("guest_links.js", start))]
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", window) == []
    assert re.findall(r"\s(?:on[a-z]+|style)\s*=", window) == []


def test_static_files_are_served(client):
    assert client.get("/static/guest_links.js").status_code == 200
    assert client.get("/static/guest_links.css").status_code == 200


def test_room_details_list_the_guest_group_as_a_system_group(launch, api):
    from tests.sakai import C

    markup_title = {C + "resource_link": {"id": "content:12", "title": "<b>Seminar</b>", "description": ""}}
    host = launch("Instructor", **markup_title)
    assert 'id="room-guest-group"' not in host.html
    assert api(host).toggle(True).status_code == 200

    again = launch("Instructor", **markup_title).html
    start = again.index('id="room-details-dialog"')
    details = again[start : again.index("</dialog>", start)]
    assert "Guest access – &lt;b&gt;Seminar&lt;/b&gt;" in details
    assert "system group: it can't be deleted" in details
    assert "<button" not in details.split('id="room-guest-group"')[1]  # nothing offers to delete it
    assert 'id="room-guest-group"' not in launch("Student", **markup_title).html
