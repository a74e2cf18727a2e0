"""The stage: room media (a direct video or an allowed embed), the CSP that lets it load, and the
room settings dialog."""

from __future__ import annotations

import re

import pytest

from lti_tool.extensions import db
from lti_tool.models import GuestGroup
from tests.conftest import tool_config


@pytest.fixture
def app(make_app, platform):
    return make_app(config=tool_config(platform, media={"embed_origins": ["https://video.example.edu"]}))


def set_media(room, url, who=None):
    return room.call(who or room.host, "PATCH", "/settings", json={"media_url": url})


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://cdn.example.org/lecture.mp4", "video"),
        ("https://cdn.example.org/path/clip.WEBM", "video"),
        ("https://video.example.edu/embed/abc", "embed"),
        ("", None),
    ],
)
def test_host_sets_the_stage_media(room, url, kind):
    assert set_media(room, url).status_code == 200
    stage = room.state(room.host).get_json()["stage"]
    assert stage == {"kind": kind, "url": url or None}


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://evil.example.com/page", "can't be shown on the stage"),
        ("http://cdn.example.org/lecture.mp4", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https://user:pw@cdn.example.org/a.mp4", "https://"),
        ("https://cdn.example.org;script-src *;/a.mp4", "https://"),
        ("https://cdn.example.org x/a.mp4", "https://"),
        ("https://cdn.example.org/" + "a" * 2050 + ".mp4", "too long"),
    ],
)
def test_other_addresses_are_refused_with_a_clear_message(room, url, words):
    response = set_media(room, url)
    assert response.status_code == 400
    assert response.get_json()["field"] == "media_url"
    assert words in response.get_json()["error"]


def test_refusal_names_the_allowed_sites(room):
    error = set_media(room, "https://elsewhere.example.net/x").get_json()["error"]
    assert "https://video.example.edu" in error


def test_viewer_cannot_change_the_stage(room):
    student = room.launch()
    assert set_media(room, "https://cdn.example.org/a.mp4", who=student).status_code == 403


def test_media_page_plays_a_video_and_opens_csp_for_its_origin(room, launch):
    set_media(room, "https://cdn.example.org/lecture.mp4")
    for user in ("s-1", "s-2"):  # the second page is the kept copy of the first (templating.kept_page)
        page = launch("Student", user=user)
        assert '<video controls playsinline preload="metadata" src="https://cdn.example.org/lecture.mp4">' in page.html
        csp = page.response.headers["Content-Security-Policy"]
        assert "media-src https://cdn.example.org" in csp
        assert "frame-src https://video.example.edu" in csp
        assert "script-src 'self'" in csp


def test_media_page_embeds_an_allowed_page_in_an_iframe(room, launch):
    set_media(room, "https://video.example.edu/embed/abc")
    page = launch("Student", user="s-1")
    assert '<iframe src="https://video.example.edu/embed/abc" title="Shared media"' in page.html


def test_without_media_the_stage_shows_the_room_title(room):
    assert '<p class="stage-room">Weekly seminar</p>' in room.host.html


def test_room_settings_dialog_for_hosts_lists_the_guest_group_as_system_group(room, launch):
    with room.app.app_context():
        db.session.add(GuestGroup(room_id=room.id, name="Guests of Weekly seminar"))
        db.session.commit()
    host = launch("Instructor", user="host-1", name="Hannah Host")
    assert 'id="menu-room-settings">Room settings</button>' in host.html
    assert "Guests must be admitted by a moderator" in host.html
    assert "Show participant names to guests" in host.html
    names_box = re.search(r'<input[^>]*id="setting-guest-names"[^>]*>', host.html).group(0)
    assert "checked" not in names_box  # off by default
    assert "Guests of Weekly seminar" in host.html
    assert "System group – can't be deleted" in host.html
    assert "Delete" not in host.html.split('id="room-groups"')[1].split("</ul>")[0]

    student = launch("Student", user="s-1")
    assert "Room settings" not in student.html
    assert "room-settings-dialog" not in student.html


def test_page_without_media_opens_only_the_allowed_embed_origins(room):
    csp = room.host.response.headers["Content-Security-Policy"]
    assert "media-src" not in csp
    # The allowed sites are open from the start, so a stage switched to an embed plays without reload.
    assert "frame-src https://video.example.edu;" in csp + ";"


def test_the_guest_page_can_include_the_live_ui(room):
    """The guest journey's inside page includes `session/_live.html` with `viewer_kind="guest"`."""
    from flask import g, render_template_string

    from lti_tool.models import Room as RoomRow

    set_media(room, "https://cdn.example.org/lecture.mp4")
    with room.app.test_request_context("/g/room/" + room.id):
        html = render_template_string(
            '{% include "session/_live.html" ignore missing with context %}',
            room=db.session.get(RoomRow, room.id),
            viewer_kind="guest",
        )
        assert g.media_src == "https://cdn.example.org"
    assert 'data-viewer-kind="guest"' in html
    assert f'data-api="/api/rooms/{room.id}"' in html
    assert "launch-token" not in html
    assert '<script src="/static/session.js" defer></script>' in html
