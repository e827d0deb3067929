"""GET / greets; POST / keeps the keys of a JSON object that start with "a" or "A"."""

from __future__ import annotations

import json


def test_get_root_returns_hello_world(client):
    result = client.simulate_get("/")

    assert result.status_code == 200
    assert result.text == "Hello world\n"


def test_get_root_is_text_plain(client):
    result = client.simulate_get("/")

    assert result.headers["Content-Type"].startswith("text/plain")


def test_post_keeps_keys_starting_with_lowercase_a(client, post_json):
    result = post_json(client, '{"apple": 1, "banana": 2}')

    assert result.status_code == 200
    assert result.json == {"apple": 1}


def test_post_keeps_keys_starting_with_uppercase_a(client, post_json):
    result = post_json(client, '{"Apple": 1, "Banana": 2}')

    assert result.json == {"Apple": 1}


def test_post_drops_empty_key_and_keys_not_starting_with_a(client, post_json):
    result = post_json(client, '{"": 1, "b": 2, "ba": 3, " a": 4, "a": 5}')

    assert result.json == {"a": 5}


def test_post_leaves_kept_values_untouched(client, post_json):
    document = {
        "a_object": {"nested": {"deeper": [1, 2.5, "x"]}, "b": "not filtered inside"},
        "a_list": [1, [2, [3]], {"k": None}],
        "a_null": None,
        "a_bool": False,
        "a_number": -12.5e3,
        "a_big_int": 10**100,
        "a_unicode": "héllo wörld ✓ 日本語 😀",
    }

    result = post_json(client, json.dumps(document))

    assert result.json == document


def test_post_keeps_key_order(client, post_json):
    result = post_json(client, '{"a3": 3, "b": 0, "A1": 1, "a2": 2}')

    assert list(json.loads(result.text)) == ["a3", "A1", "a2"]


def test_post_empty_object_returns_empty_object(client, post_json):
    result = post_json(client, "{}")

    assert result.status_code == 200
    assert result.json == {}


def test_post_object_without_a_keys_returns_empty_object(client, post_json):
    result = post_json(client, '{"b": 1, "c": {"a": 2}}')

    assert result.json == {}


def test_post_responds_with_json(client, post_json):
    result = post_json(client, '{"a": 1}')

    assert result.headers["Content-Type"] == "application/json"
