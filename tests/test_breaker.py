"""The circuit breaker: closed, open (fail fast), half-open (one probe), closed again.

Time is a clock the tests move by hand; no test sleeps.
"""

from __future__ import annotations

import threading

import pytest

from example_app.breaker import CircuitBreaker, CircuitOpen

COOL_DOWN = 2.0


class Down(Exception):
    """The guarded service is down."""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Service:
    """A command that answers, fails (Down) or raises what it is told; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.error: BaseException | None = None

    def __call__(self, value: str = "answer") -> str:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return value


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker((Down,), cool_down=COOL_DOWN, clock=clock)


@pytest.fixture
def service() -> Service:
    return Service()


def open_breaker(breaker: CircuitBreaker, service: Service) -> None:
    service.error = Down("timed out")
    with pytest.raises(Down):
        breaker.call(service)
    service.error = None


def test_a_closed_breaker_returns_the_commands_answer(breaker, service):
    assert breaker.call(service, "hello") == "hello"
    assert service.calls == 1


def test_a_failure_reaches_the_caller_as_it_was_raised(breaker, service):
    failure = Down("timed out")
    service.error = failure

    with pytest.raises(Down) as raised:
        breaker.call(service)

    assert raised.value is failure


def test_after_a_failure_calls_fail_fast_until_the_cool_down_then_one_goes_through(
    breaker, service, clock
):
    open_breaker(breaker, service)
    clock.now += COOL_DOWN - 0.01

    with pytest.raises(CircuitOpen, match=r"next try in 0\.01 s"):
        breaker.call(service)
    assert service.calls == 1  # the service was not called
    clock.now += 0.01
    assert breaker.call(service, "probe") == "probe"
    assert service.calls == 2


def test_while_the_probe_is_in_flight_other_calls_fail_fast(breaker, service, clock):
    open_breaker(breaker, service)
    clock.now += COOL_DOWN
    during_probe: list[BaseException] = []

    def probe() -> str:
        try:
            breaker.call(service)
        except CircuitOpen as error:
            during_probe.append(error)
        return "probed"

    assert breaker.call(probe) == "probed"
    assert [str(error) for error in during_probe] == [
        "failing fast after a failure; another call is trying"
    ]
    assert service.calls == 1


def test_a_successful_probe_closes_the_breaker(breaker, service, clock):
    open_breaker(breaker, service)
    clock.now += COOL_DOWN
    breaker.call(service)

    assert [breaker.call(service, str(n)) for n in range(3)] == ["0", "1", "2"]


def test_a_failed_probe_opens_the_breaker_for_another_cool_down(breaker, service, clock):
    open_breaker(breaker, service)
    clock.now += COOL_DOWN + 5
    open_breaker(breaker, service)  # the probe fails
    clock.now += COOL_DOWN - 0.01

    with pytest.raises(CircuitOpen):
        breaker.call(service)
    clock.now += 0.01
    assert breaker.call(service) == "answer"


def test_an_error_that_is_not_a_failure_does_not_open_the_breaker(breaker, service):
    service.error = ValueError("bad reply")
    with pytest.raises(ValueError, match="bad reply"):
        breaker.call(service)
    service.error = None

    assert breaker.call(service) == "answer"


def test_a_probe_that_raises_an_error_that_is_not_a_failure_closes_the_breaker(
    breaker, service, clock
):
    open_breaker(breaker, service)
    clock.now += COOL_DOWN
    service.error = ValueError("an error reply is still an answer")
    with pytest.raises(ValueError, match="still an answer"):
        breaker.call(service)
    service.error = None

    assert breaker.call(service) == "answer"


def test_an_answer_to_a_call_made_before_the_breaker_opened_closes_it(breaker, service):
    def answered_after_another_call_failed() -> str:
        open_breaker(breaker, service)
        return "late answer"

    assert breaker.call(answered_after_another_call_failed) == "late answer"
    assert breaker.call(service) == "answer"


def test_of_many_threads_only_one_is_let_through_as_the_probe(breaker, service, clock):
    threads = 8
    open_breaker(breaker, service)
    clock.now += COOL_DOWN
    start = threading.Barrier(threads)
    lock = threading.Lock()
    probes: list[str] = []
    refused: list[str] = []
    all_others_refused = threading.Event()

    def probe() -> str:
        with lock:
            probes.append(threading.current_thread().name)
        # Held until every other thread has been refused, so they all overlap this one.
        all_others_refused.wait(timeout=5)
        return "probed"

    def caller() -> None:
        start.wait(timeout=5)
        try:
            breaker.call(probe)
        except CircuitOpen:
            with lock:
                refused.append(threading.current_thread().name)
                if len(refused) == threads - 1:
                    all_others_refused.set()

    workers = [threading.Thread(target=caller) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=10)

    assert (len(probes), len(refused)) == (1, threads - 1)
