"""Many clients at once: every request gets its right answer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

from service_tests.harness import AppServer

CLIENTS = 32
REQUESTS = 1000


def _call(app: AppServer, number: int) -> str | None:
    """One request, GET / or POST / by turns; a description of what went wrong, if anything."""
    try:
        if number % 2:
            response = app.get("/")
            if (response.status, response.text) != (200, "Hello world\n"):
                return f"GET / #{number}: {response.status} {response.body[:200]!r}"
        else:
            response = app.post("/", {"alpha": number, "beta": number})
            if (response.status, response.json()) != (200, {"alpha": number}):
                return f"POST / #{number}: {response.status} {response.body[:200]!r}"
    except Exception as error:  # a failure to report, not to stop the other clients
        return f"#{number}: {error!r}"
    return None


def test_32_concurrent_clients_make_1000_requests_without_a_failure(
    app_server: AppServer,
) -> None:
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [pool.submit(_call, app_server, number) for number in range(REQUESTS)]
        # Each request has its own 10 s timeout; this bounds the whole run.
        done, not_done = wait(futures, timeout=120)
        for future in not_done:
            future.cancel()

    assert not not_done, f"{len(not_done)} requests did not finish in time"
    failures = [failure for future in done if (failure := future.result()) is not None]
    assert failures == []
