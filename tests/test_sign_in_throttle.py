"""The failed sign-in throttle on its own, on a clock the test moves."""

from __future__ import annotations

from api import sign_in_throttle
from api.sign_in_throttle import SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_within_the_window_hold_an_address_back_for_the_backoff() -> None:
    clock = Clock()
    throttle = SignInThrottle(max_failures=3, window=60, backoff=300, clock=clock)
    throttle.failed("a")
    clock.now += 30
    throttle.failed("a")
    assert throttle.retry_after("a") is None
    clock.now += 29
    throttle.failed("a")  # three within 60 seconds
    assert throttle.retry_after("a") == 300
    assert throttle.retry_after("b") is None
    clock.now += 299.5
    assert throttle.retry_after("a") == 1  # rounded up: never "try again in 0 seconds"
    clock.now += 0.5
    assert throttle.retry_after("a") is None
    throttle.failed("a")  # the count began again when it was held back
    assert throttle.retry_after("a") is None


def test_failures_spread_wider_than_the_window_never_add_up() -> None:
    clock = Clock()
    throttle = SignInThrottle(max_failures=3, window=60, backoff=300, clock=clock)
    for _ in range(20):
        throttle.failed("a")
        clock.now += 30.5  # at most two within any 60 seconds
        assert throttle.retry_after("a") is None


def test_the_addresses_remembered_are_bounded(monkeypatch) -> None:
    monkeypatch.setattr(sign_in_throttle, "MAX_TRACKED", 3)
    clock = Clock()
    throttle = SignInThrottle(max_failures=1, window=60, backoff=300, clock=clock)
    for address in ("a", "b", "c", "d"):
        throttle.failed(address)
    # The least recently failing is forgotten first.
    assert [throttle.retry_after(x) for x in "abcd"] == [None, 300, 300, 300]
