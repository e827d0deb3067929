from e2e.client import Client


def test_item_life_cycle(client: Client, item_key: str) -> None:
    path = f"/items/{item_key}"
    assert client.get(path).status == 404

    created = client.put(path, {"name": "e2e", "count": 1})
    assert created.status == 201
    assert created.headers["Location"].endswith(path)
    assert client.get(path).json() == {"name": "e2e", "count": 1}

    replaced = client.put(path, {"name": "e2e", "count": 2})
    assert replaced.status == 200
    assert client.get(path).json() == {"name": "e2e", "count": 2}

    # Listed in key order: a proper prefix of the key sorts right before it, so the page
    # after it starts with this key however many items the deployment holds.
    page = client.get(f"/items?cursor={item_key[:-1]}&limit=1").json()
    assert page["keys"] == [item_key]

    assert client.delete(path).status == 204
    assert client.get(path).status == 404
    assert client.delete(path).status == 404
