"""The one small client of Janus's HTTP API (server side only; the browser never reaches Janus).

Every POST carries `apisecret` in its body and the long-poll GET carries it in the query string.
Timeouts are short (Janus is on loopback or a private network); any transport failure becomes
`JanusUnavailable`, and Janus's own error codes become the domain errors below.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests

log = logging.getLogger(__name__)

VIDEOROOM = "janus.plugin.videoroom"
CONNECT_TIMEOUT = 1.0
READ_TIMEOUT = 3.0
EVENT_WAIT = 6.0  # how long an asynchronous request may take to answer (its event on the long poll)

# Janus core error codes (janus/apierror.h) and VideoRoom ones (plugins/janus_videoroom.c).
UNAUTHORIZED = 403
SESSION_NOT_FOUND = 458
HANDLE_NOT_FOUND = 459
ROOM_NOT_FOUND = 426
ROOM_EXISTS = 427
FEED_NOT_FOUND = 428
ID_EXISTS = 436
INVALID_SDP = 437


class JanusError(Exception):
    """Janus answered with an error. `code` is Janus's number."""

    def __init__(self, code: int, reason: str):
        super().__init__(f"Janus error {code}: {reason}")
        self.code = code
        self.reason = reason


class JanusUnavailable(JanusError):
    """Janus could not be reached, or did not answer in time."""

    def __init__(self, reason: str):
        super().__init__(0, reason)


class SessionGone(JanusError):
    """The Janus session (or handle) no longer exists: timed out, destroyed, or Janus restarted."""


class RoomGone(JanusError):
    """The VideoRoom room does not exist (never created, destroyed, or Janus restarted)."""


class FeedGone(JanusError):
    """The publisher to subscribe to is not (or no longer) in the room."""


def _raise_for(code: int, reason: str) -> None:
    if code in (SESSION_NOT_FOUND, HANDLE_NOT_FOUND):
        raise SessionGone(code, reason)
    if code == ROOM_NOT_FOUND:
        raise RoomGone(code, reason)
    if code == FEED_NOT_FOUND:
        raise FeedGone(code, reason)
    raise JanusError(code, reason)


@dataclass(frozen=True)
class Reply:
    """A VideoRoom answer: its `data` (plugindata.data) and the JSEP that came with it, if any."""

    data: dict[str, Any]
    jsep: dict[str, Any] | None = None


class Janus:
    """One Janus server: `url` is its HTTP API (…/janus), `api_secret` and `admin_key` its secrets."""

    def __init__(self, url: str, api_secret: str, admin_key: str, *, event_wait: float = EVENT_WAIT):
        self.url = url.rstrip("/")
        self.api_secret = api_secret
        self.admin_key = admin_key
        self.event_wait = event_wait
        self._local = threading.local()
        self._control: tuple[int, int] | None = None
        self._control_lock = threading.Lock()

    # --- transport ---------------------------------------------------------------------------------

    def _http(self) -> requests.Session:
        session = getattr(self._local, "http", None)
        if session is None:
            session = self._local.http = requests.Session()
            session.trust_env = False  # never through a proxy from the environment
        return session

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": body.get("transaction") or secrets.token_hex(8), "apisecret": self.api_secret}
        try:
            response = self._http().post(self.url + path, json=body, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
            answer = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise JanusUnavailable(type(exc).__name__) from None
        return self._checked(answer)

    @staticmethod
    def _checked(answer: Any) -> dict[str, Any]:
        if not isinstance(answer, dict):
            raise JanusUnavailable("answer is not a JSON object")
        if answer.get("janus") == "error":
            error = answer.get("error") or {}
            _raise_for(int(error.get("code") or 0), str(error.get("reason") or "unknown"))
        return answer

    # --- core API ------------------------------------------------------------------------------------

    def info(self, *, timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)) -> dict[str, Any]:
        try:
            response = self._http().get(self.url + "/info", timeout=timeout)
            return response.json()
        except (requests.RequestException, ValueError) as exc:
            raise JanusUnavailable(type(exc).__name__) from None

    def create_session(self) -> int:
        return int(self._post("", {"janus": "create"})["data"]["id"])

    def attach(self, session: int, plugin: str = VIDEOROOM) -> int:
        return int(self._post(f"/{session}", {"janus": "attach", "plugin": plugin})["data"]["id"])

    def keepalive(self, session: int) -> None:
        self._post(f"/{session}", {"janus": "keepalive"})

    def destroy_session(self, session: int) -> None:
        """Destroy a session (its handles detach, a publisher leaves its room). Gone already is fine."""
        with contextlib.suppress(SessionGone):
            self._post(f"/{session}", {"janus": "destroy"})

    def request(self, session: int, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (create, destroy, kick, moderate, listparticipants, …)."""
        answer = self._post(f"/{session}/{handle}", {"janus": "message", "body": body})
        data = self._plugin_data(answer)
        return data

    def message(self, session: int, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None) -> Reply:
        """An asynchronous plugin request: Janus acks it, and its answer arrives as an event with the
        same transaction on the session's long poll."""
        transaction = secrets.token_hex(12)
        payload: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            payload["jsep"] = jsep
        answer = self._post(f"/{session}/{handle}", payload)
        if answer.get("janus") == "success":  # answered at once (e.g. a request error)
            return Reply(self._plugin_data(answer), answer.get("jsep"))
        return self._await(session, transaction)

    def _await(self, session: int, transaction: str) -> Reply:
        deadline = time.monotonic() + self.event_wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise JanusUnavailable("no answer in time")
            try:
                response = self._http().get(
                    f"{self.url}/{session}",
                    params={"maxev": 10, "rid": int(time.time() * 1000), "apisecret": self.api_secret},
                    timeout=(CONNECT_TIMEOUT, left),
                )
                answer = response.json()
            except (requests.RequestException, ValueError) as exc:
                raise JanusUnavailable(type(exc).__name__) from None
            events = answer if isinstance(answer, list) else [answer]
            for event in events:
                event = self._checked(event)
                # Other events (new publishers, media state, …) are not ours: the poll reads Janus anew.
                if event.get("transaction") == transaction and event.get("janus") == "event":
                    return Reply(self._plugin_data(event), event.get("jsep"))

    def control(self, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous VideoRoom request of the tool's own (create, destroy, listparticipants, …) on
        one long-lived handle per process; made again when Janus forgot it (timeout or restart)."""
        for attempt in (1, 2):
            session, handle = self._control_handle()
            try:
                return self.request(session, handle, body)
            except SessionGone:
                with self._control_lock:
                    if self._control == (session, handle):
                        self._control = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _control_handle(self) -> tuple[int, int]:
        with self._control_lock:
            if self._control is None:
                session = self.create_session()
                try:
                    self._control = (session, self.attach(session))
                except JanusError:
                    self.destroy_session(session)
                    raise
            return self._control

    @staticmethod
    def _plugin_data(answer: dict[str, Any]) -> dict[str, Any]:
        data = (answer.get("plugindata") or {}).get("data") or {}
        if "error_code" in data:
            _raise_for(int(data["error_code"]), str(data.get("error") or "unknown"))
        return data
