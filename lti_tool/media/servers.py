"""Several Janus servers: which one a room is on (placement) and which ones answer (health).

Both live in the database, so every worker and host agrees. Placement: a room without a server goes
to the reachable one with the fewest active rooms per weight, and stays there for its session.
Health: with two or more servers, each worker runs a small monitor thread; every CHECK_EVERY one of
them (whoever claims the check, in one UPDATE) asks each server for `info`. After DOWN_AFTER failed
checks in a row the server is out of placement (well within 10 s), and the next request of a room
on it moves the room to another server (service.client); the pages then find their peers gone and
reconnect by themselves. A server is back in placement at its first good answer.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import case, func, select, update

from ..clock import utcnow
from ..database import dialect_insert
from ..extensions import db
from ..models import MediaPeer, MediaRoom, MediaServer
from .janus import Janus, JanusUnavailable

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(seconds=2)
# Failed checks in a row before a server is out: a dead process (connection refused) is out in
# 2-4 s, a hung one within ~8 s (2 × (timeouts + the wait between checks)); one slow answer on a
# loaded machine is not enough to move rooms (a move costs everyone in them a few seconds of video).
DOWN_AFTER = 2
HEALTH_TIMEOUT = (1.0, 2.0)  # connect, read (seconds)
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Fleet:
    """The configured servers: a client and a weight per url, in config order."""

    clients: dict[str, Janus]
    weights: dict[str, float]

    @property
    def first(self) -> Janus:
        return next(iter(self.clients.values()))


def fleet(app: Flask | None = None) -> Fleet | None:
    """This app's servers (clients made once), or None without media.janus. With two or more, the
    health monitor runs in this process."""
    app = app or current_app._get_current_object()
    if "media_fleet" not in app.extensions:
        servers = app.config["TOOL"].janus
        app.extensions["media_fleet"] = (
            Fleet({s.url: Janus(s.url, s.api_secret, s.admin_key) for s in servers}, {s.url: s.weight for s in servers})
            if servers
            else None
        )
    found = app.extensions["media_fleet"]
    if found is not None and len(found.clients) > 1:
        _ensure_monitor(app)
    return found


# --- placement ------------------------------------------------------------------------------------


def down() -> set[str]:
    return set(db.session.execute(select(MediaServer.url).where(MediaServer.down_since.is_not(None))).scalars())


def active_rooms() -> dict[str, int]:
    rows = db.session.execute(select(MediaRoom.server, func.count()).group_by(MediaRoom.server)).all()
    return {server: count for server, count in rows if server}


def choose(servers: Fleet, *, avoid: str | None = None) -> str | None:
    """The reachable server with the fewest active rooms per weight (after taking this one); the
    first in config order on a tie. For a new room (no `avoid`) with none reachable: the least
    loaded of all (it fails, the page says "reconnecting", and the room moves once a server answers).
    For a move away from `avoid`: None when no other server is reachable (the room stays)."""
    out = down() | ({avoid} if avoid else set())
    counts = active_rooms()
    order = list(servers.clients)
    candidates = [url for url in order if url not in out]
    if not candidates:
        if avoid is not None:
            return None
        candidates = order
    return min(candidates, key=lambda url: ((counts.get(url, 0) + 1) / servers.weights[url], order.index(url)))


# --- health ---------------------------------------------------------------------------------------


def _claim(url: str, now: datetime) -> bool:
    """Is this worker the one to check `url` now? One UPDATE decides between workers."""
    table = MediaServer.__table__
    db.session.execute(
        dialect_insert(table, db.session.get_bind().dialect.name)
        .values(url=url, checked_at=LONG_AGO, failures=0)
        .on_conflict_do_nothing(index_elements=["url"])
    )
    claimed = db.session.execute(
        update(table).where(table.c.url == url, table.c.checked_at <= now - CHECK_EVERY).values(checked_at=now)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _record(url: str, ok: bool, now: datetime) -> None:
    table = MediaServer.__table__
    if ok:
        values = {"ok_at": now, "failures": 0, "down_since": None}
    else:
        values = {
            "failures": table.c.failures + 1,
            "down_since": case(
                (table.c.failures + 1 >= DOWN_AFTER, func.coalesce(table.c.down_since, now)),
                else_=table.c.down_since,
            ),
        }
    db.session.execute(update(table).where(table.c.url == url).values(**values))
    db.session.commit()


def reachable(janus: Janus) -> bool:
    try:
        janus.info(timeout=HEALTH_TIMEOUT)
    except JanusUnavailable:
        return False
    return True


def check_due(servers: Fleet, now: datetime) -> None:
    """Check each server whose last check is older than CHECK_EVERY (if this worker claims it)."""
    for url, janus in servers.clients.items():
        if _claim(url, now):
            ok = reachable(janus)
            _record(url, ok, utcnow())
            if not ok:
                log.warning("media: Janus %s did not answer its health check", url)


_monitors: dict[int, threading.Thread] = {}
_monitors_lock = threading.Lock()


def _ensure_monitor(app: Flask) -> None:
    with _monitors_lock:
        thread = _monitors.get(id(app))
        if thread is not None and thread.is_alive():
            return
        ref = weakref.ref(app)
        thread = threading.Thread(target=_monitor, args=(ref,), name="media-health", daemon=True)
        _monitors[id(app)] = thread
        thread.start()


def _monitor(ref: weakref.ref) -> None:
    stop = threading.Event()
    while not stop.wait(CHECK_EVERY.total_seconds() / 2):
        app = ref()
        if app is None or app.extensions.get("media_fleet_stopped"):
            return
        try:
            with app.app_context():
                check_due(app.extensions["media_fleet"], utcnow())
        except Exception:  # a monitor must outlive a database hiccup
            log.exception("media: health check failed")
        finally:
            del app


def stop_monitor(app: Flask) -> None:
    app.extensions["media_fleet_stopped"] = True


# --- status (lti-tool media status, the admin page) --------------------------------------------------


@dataclass(frozen=True)
class ServerStatus:
    url: str
    weight: float
    reachable: bool
    in_placement: bool
    rooms: int
    participants: int


FRESH = timedelta(seconds=10)  # a health record younger than this is believed without asking again


def status(servers: Fleet | None, now: datetime, *, check: bool = False) -> list[ServerStatus]:
    """Every configured server: reachable (the monitor's fresh record, else asked now; always asked
    with `check`), in placement, active rooms, participants (people with a peer in its rooms)."""
    if servers is None:
        return []
    rows = {r.url: r for r in db.session.execute(select(MediaServer)).scalars()}
    rooms = active_rooms()
    people = dict(
        db.session.execute(
            select(MediaRoom.server, func.count(func.distinct(MediaPeer.member_id)))
            .join(MediaPeer, MediaPeer.room_id == MediaRoom.room_id)
            .group_by(MediaRoom.server)
        ).all()
    )
    out = []
    for url, janus in servers.clients.items():
        row = rows.get(url)
        fresh = row is not None and row.checked_at >= now - FRESH
        ok = (row.failures == 0 and row.ok_at is not None) if fresh and not check else reachable(janus)
        out.append(
            ServerStatus(
                url=url,
                weight=servers.weights[url],
                reachable=ok,
                in_placement=not (row and row.down_since),
                rooms=rooms.get(url, 0),
                participants=people.get(url, 0),
            )
        )
    return out
