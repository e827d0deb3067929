"""The embedded memory store: the same interface as Redis, in one process."""

from __future__ import annotations

from example_app.storage import Event, MemoryItemStore


def test_memory_store_says_it_is_memory():
    assert MemoryItemStore().backend == "memory"


def test_put_returns_true_when_new_and_false_when_replaced():
    store = MemoryItemStore()

    assert store.put("k", {"v": 1}, request_id="r") is True
    assert store.put("k", {"v": 2}, request_id="r") is False


def test_value_got_is_a_copy_of_what_is_stored():
    store = MemoryItemStore()
    store.put("k", {"tags": ["a"]}, request_id="r")

    got = store.get("k")
    assert got is not None
    got["tags"].append("b")

    assert store.get("k") == {"tags": ["a"]}


def test_get_missing_key_is_none():
    assert MemoryItemStore().get("missing") is None


def test_delete_returns_whether_the_key_was_there():
    store = MemoryItemStore()
    store.put("k", {}, request_id="r")

    assert store.delete("k", request_id="r") is True
    assert store.delete("k", request_id="r") is False


def test_deleted_key_leaves_the_key_list():
    store = MemoryItemStore()
    for key in ("a", "b", "c"):
        store.put(key, {}, request_id="r")

    store.delete("b", request_id="r")

    assert store.keys(limit=10, after=None) == ["a", "c"]


def test_keys_start_after_the_given_key_and_stop_at_the_limit():
    store = MemoryItemStore()
    for key in ("d", "b", "a", "c", "e"):
        store.put(key, {}, request_id="r")

    assert store.keys(limit=2, after="b") == ["c", "d"]


def test_every_subscriber_gets_every_event():
    store = MemoryItemStore()
    first: list[Event] = []
    second: list[Event] = []
    store.subscribe(first.append)
    store.subscribe(second.append)

    store.put("k", {}, request_id="r")

    assert [event["event"] for event in first] == ["item.created"]
    assert first == second


def test_ping_describes_the_memory_store():
    assert MemoryItemStore().ping() == "memory: embedded, per worker, lost on restart"
