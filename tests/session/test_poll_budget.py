"""The state poll has a budget per guest session: a page polling as it does never meets it, a flood
gets 429 after a burst, and nobody else's polls are touched."""

from __future__ import annotations

import threading
from collections import Counter

from lti_tool.guest.identity import COOKIE_NAME
from lti_tool.session.pollrate import BURST, RATE


def test_a_polite_page_never_meets_the_limit(room, frozen_clock):
    guest = room.guest()
    room.start()
    codes = Counter()
    last = room.state(guest)
    for second in range(0, 300, 2):  # five minutes of two tabs polling every 2 s
        for _ in range(2):
            last = room.poll_again(guest, last) if last.status_code == 200 else room.state(guest)
            codes[last.status_code] += 1
        if second % 20 == 0:  # a message now and then, and the page polls again at once
            assert room.call(guest, "POST", "/chat", json={"body": f"at {second}"}).status_code == 200
            codes[room.state(guest).status_code] += 1
        frozen_clock.advance(seconds=2)
    assert set(codes) <= {200, 304}, codes


def test_a_flood_gets_429_after_the_burst_and_others_are_untouched(room, frozen_clock):
    flooder, neighbour = room.guest(), room.guest(name="Nina Neighbour", email="nina@example.org")
    student = room.launch()
    room.start()
    codes = [room.state(flooder).status_code for _ in range(BURST + 20)]
    assert codes[:BURST] == [200] * BURST and codes[BURST:] == [429] * 20
    refused = room.state(flooder)
    assert refused.headers["Retry-After"] == "1" and refused.get_json()["code"] == "poll_rate_limited"
    # Everyone else polls as usual, at the same instant.
    assert [room.state(who).status_code for who in (neighbour, student, room.host) for _ in range(5)] == [200] * 15
    # The budget refills at RATE per second.
    frozen_clock.advance(seconds=1)
    codes = [room.state(flooder).status_code for _ in range(int(RATE) + 1)]
    assert codes == [200] * int(RATE) + [429]


def test_concurrent_polls_of_one_guest_share_one_budget(room, frozen_clock):
    guest = room.guest()
    room.start()
    cookie = guest.client.get_cookie(COOKIE_NAME).value
    barrier = threading.Barrier(10)
    codes: list[int] = []

    def poll_many() -> None:
        client = room.app.test_client()
        client.set_cookie(COOKIE_NAME, cookie)
        barrier.wait()
        for _ in range(10):
            codes.append(client.get(f"/api/rooms/{room.id}/state").status_code)

    threads = [threading.Thread(target=poll_many) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Counter(codes) == Counter({200: BURST, 429: 100 - BURST})
