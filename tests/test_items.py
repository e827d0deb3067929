"""/items: JSON objects stored by key, listed a page at a time (on the memory store).

Change events, the Redis store being down, the choice of store and the price call have
their own files (test_item_events, test_store_unavailable, test_store_choice, test_item_price).
"""

from __future__ import annotations

import pytest

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def items(make_client):
    """An app on a fresh memory store, taking bodies of up to 256 bytes."""
    return make_client(max_body_bytes=256)


def put(client, key, body=b'{"colour": "red"}', headers=None):
    return client.simulate_put(f"/items/{key}", body=body, headers={**JSON, **(headers or {})})


# --- one item ------------------------------------------------------------------------------


def test_put_new_item_is_201_with_location_and_the_value(items):
    result = put(items, "apple")

    assert result.status_code == 201
    assert result.headers["Location"] == "/items/apple"
    assert result.json == {"colour": "red"}


def test_put_existing_item_is_200_without_location_and_replaces_it(items):
    put(items, "apple")

    result = put(items, "apple", body=b'{"colour": "green"}')

    assert result.status_code == 200
    assert "Location" not in result.headers
    assert result.json == {"colour": "green"}
    assert items.simulate_get("/items/apple").json == {"colour": "green"}


def test_get_item_returns_the_stored_object(items):
    put(items, "apple", body=b'{"colour": "red", "sizes": [1, 2], "note": null}')

    result = items.simulate_get("/items/apple")

    assert result.status_code == 200
    assert result.json == {"colour": "red", "sizes": [1, 2], "note": None}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_missing_item_is_404_naming_the_key(items, method):
    result = items.simulate_request(method, "/items/pear")

    assert result.status_code == 404
    assert result.json["description"] == "There is no item 'pear'."


def test_delete_item_is_204_and_the_item_is_gone(items):
    put(items, "apple")

    result = items.simulate_delete("/items/apple")

    assert result.status_code == 204
    assert result.content == b""
    assert items.simulate_get("/items/apple").status_code == 404


@pytest.mark.parametrize(
    "key", ["a.b", "A-Z_0~9", "x" * 128], ids=["dot", "all-symbols", "128-characters"]
)
def test_put_accepts_url_safe_keys_up_to_128_characters(items, key):
    assert put(items, key).status_code == 201


@pytest.mark.parametrize(
    "key",
    ["x" * 129, "a%20b", "caf%C3%A9", "a+b", "a:b", "-a", "~", ".hidden"],
    ids=["129", "space", "é", "+", ":", "leading-dash", "tilde-only", "leading-dot"],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_invalid_item_key_is_400(items, method, key):
    result = items.simulate_request(method, f"/items/{key}", body=b"{}", headers=JSON)

    assert result.status_code == 400
    assert result.json["title"] == "Invalid item key"


def test_put_follows_the_json_body_rules(items):
    assert put(items, "a", body=b"[]").status_code == 400
    assert put(items, "a", body=b"{}", headers={"Content-Type": "text/plain"}).status_code == 415
    assert put(items, "a", body=b'{"a": "' + b"x" * 300 + b'"}').status_code == 413


# "\ud800" is valid JSON syntax, but no UTF-8 text can carry it back.
@pytest.mark.parametrize("body", [b"[1]", b'{"name": "\\ud800"}'], ids=["array", "lone-surrogate"])
def test_a_put_refused_400_stores_nothing(items, body):
    assert put(items, "apple", body=body).status_code == 400
    assert items.simulate_get("/items/apple").status_code == 404


# --- the list ------------------------------------------------------------------------------


def test_list_of_no_items_is_empty(items):
    result = items.simulate_get("/items")

    assert result.status_code == 200
    assert result.json == {"keys": [], "next_cursor": None}


def test_list_gives_keys_in_order(items):
    for key in ("pear", "Apple", "apple", "fig"):
        put(items, key)

    assert items.simulate_get("/items").json == {
        "keys": ["Apple", "apple", "fig", "pear"],
        "next_cursor": None,
    }


def test_list_gives_at_most_20_keys_by_default(items):
    for number in range(21):
        put(items, f"k{number:02}")

    result = items.simulate_get("/items").json

    assert result["keys"] == [f"k{number:02}" for number in range(20)]
    assert result["next_cursor"] == "k19"


def test_list_pages_with_limit_and_cursor(items):
    for key in ("a", "b", "c", "d", "e"):
        put(items, key)

    first = items.simulate_get("/items", params={"limit": 2}).json
    second = items.simulate_get("/items", params={"limit": 2, "cursor": first["next_cursor"]}).json
    last = items.simulate_get("/items", params={"limit": 2, "cursor": second["next_cursor"]}).json

    assert (first["keys"], second["keys"], last["keys"]) == (["a", "b"], ["c", "d"], ["e"])
    assert (first["next_cursor"], second["next_cursor"], last["next_cursor"]) == ("b", "d", None)


def test_list_page_that_exactly_fills_the_limit_has_no_next_cursor(items):
    for key in ("a", "b"):
        put(items, key)

    assert items.simulate_get("/items", params={"limit": 2}).json["next_cursor"] is None


def test_list_cursor_need_not_be_an_existing_key(items):
    for key in ("a", "c"):
        put(items, key)

    assert items.simulate_get("/items", params={"cursor": "b"}).json["keys"] == ["c"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
def test_list_with_invalid_limit_is_400(items, limit):
    result = items.simulate_get("/items", params={"limit": limit})

    assert result.status_code == 400
    assert "limit" in result.json["description"]


def test_list_with_invalid_cursor_is_400(items):
    result = items.simulate_get("/items", params={"cursor": "no spaces"})

    assert result.status_code == 400
    assert result.json["title"] == "Invalid item key"


# --- metrics -------------------------------------------------------------------------------


def test_item_requests_are_counted_by_route_template_not_by_key(items):
    put(items, "apple")
    put(items, "pear")

    exposition = items.simulate_get("/metrics").text

    assert 'route="/items/{key}",status="201"} 2.0' in exposition
    assert "apple" not in exposition
