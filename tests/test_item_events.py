"""Each change to an item is announced as a JSON event (in process for the memory store)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from example_app.storage import MemoryItemStore


@pytest.fixture
def store_and_events():
    store = MemoryItemStore()
    events: list[dict[str, Any]] = []
    store.subscribe(events.append)
    return store, events


def test_creating_an_item_publishes_item_created_with_the_request_id(make_client, store_and_events):
    store, events = store_and_events
    client = make_client(store=store)
    client.simulate_put("/items/apple", json={}, headers={"X-Request-ID": "req-1"})
    assert len(events) == 1
    assert events[0]["event"] == "item.created"
    assert events[0]["key"] == "apple"
    assert events[0]["request_id"] == "req-1"


def test_replacing_an_item_publishes_item_replaced(make_client, store_and_events):
    store, events = store_and_events
    client = make_client(store=store)
    client.simulate_put("/items/apple", json={})
    client.simulate_put("/items/apple", json={"v": 2})
    assert [event["event"] for event in events] == ["item.created", "item.replaced"]


def test_deleting_an_item_publishes_item_deleted(make_client, store_and_events):
    store, events = store_and_events
    client = make_client(store=store)
    client.simulate_put("/items/apple", json={})
    client.simulate_delete("/items/apple")
    assert [event["event"] for event in events] == ["item.created", "item.deleted"]


def test_deleting_an_absent_item_publishes_nothing(make_client, store_and_events):
    store, events = store_and_events
    make_client(store=store).simulate_delete("/items/apple")
    assert events == []


def test_a_rejected_put_publishes_nothing(make_client, store_and_events):
    store, events = store_and_events
    make_client(store=store).simulate_put("/items/bad key", json={})
    assert events == []


def test_events_carry_an_utc_timestamp(make_client, store_and_events):
    store, events = store_and_events
    make_client(store=store).simulate_put("/items/apple", json={})
    assert datetime.fromisoformat(events[0]["at"]).utcoffset() == timedelta(0)


def test_the_stored_value_is_a_copy_not_the_callers_object():
    store = MemoryItemStore()
    value = {"list": [1]}
    store.put("apple", value, request_id="r")
    value["list"].append(2)
    assert store.get("apple") == {"list": [1]}
