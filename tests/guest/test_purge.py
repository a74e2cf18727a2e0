"""Retention: `lti-tool purge` deletes guest records older than guests.retention_days, and expired
launch nonces; it is safe to run from cron at any time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.models import Guest, RateCounter, UsedNonce
from tests.conftest import do_launch, tool_config
from tests.guest.conftest import add_link, join


def guest_names(app) -> set[str]:
    with app.app_context():
        return set(db.session.execute(select(Guest.name)).scalars())


def test_purge_deletes_guests_past_retention_and_expired_login_data(make_app, platform, frozen_clock):
    app = make_app(config=tool_config(platform, guests={"retention_days": 7}))
    host = do_launch(app.test_client(), platform, "Instructor")
    token = add_link(app, host.room_id)
    join(app.test_client(), token, name="Old guest")
    frozen_clock.advance(days=6, hours=23)
    join(app.test_client(), token, name="Recent guest")
    with app.app_context():
        db.session.add(UsedNonce(nonce="n1", expires_at=frozen_clock.now))
        db.session.add(UsedNonce(nonce="n2", expires_at=frozen_clock.now + timedelta(days=1)))
        db.session.commit()
    frozen_clock.advance(hours=2)  # the old guest is now 7 days 1 hour old, the recent one 1 hour

    result = app.test_cli_runner().invoke(args=["lti", "purge"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 guest record(s) older than 7 day(s)" in result.output
    assert guest_names(app) == {"Recent guest"}
    with app.app_context():
        assert db.session.get(UsedNonce, "n1") is None
        assert db.session.get(UsedNonce, "n2") is not None
        assert db.session.execute(select(RateCounter)).first() is None  # old windows went too

    frozen_clock.advance(days=7)
    app.test_cli_runner().invoke(args=["lti", "purge"])
    assert guest_names(app) == set()
