"""GET / greets; POST / keeps the keys of a JSON object that start with "a" or "A"."""

from __future__ import annotations

import json

import pytest


def test_get_root_returns_hello_world_as_text_plain(client):
    result = client.simulate_get("/")

    assert result.status_code == 200
    assert result.text == "Hello world\n"
    assert result.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ('{"apple": 1, "banana": 2}', '{"apple":1}'),
        ('{"Apple": 1, "Banana": 2}', '{"Apple":1}'),
        ('{"": 1, "b": 2, "ba": 3, " a": 4, "a": 5}', '{"a":5}'),
        ('{"a3": 3, "b": 0, "A1": 1, "a2": 2}', '{"a3":3,"A1":1,"a2":2}'),  # in their order
        ("{}", "{}"),
        ('{"b": 1, "c": {"a": 2}}', "{}"),  # only the top level is filtered
    ],
    ids=["lowercase-a", "uppercase-a", "others-dropped", "order-kept", "empty", "none-kept"],
)
def test_post_answers_json_keeping_the_keys_that_start_with_a(client, post_json, body, kept):
    result = post_json(client, body)

    assert result.status_code == 200
    assert result.headers["Content-Type"] == "application/json"
    assert result.text == kept


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
