from e2e.client import Client


def test_hello_and_filter(client: Client) -> None:
    hello = client.get("/")
    assert hello.status == 200
    assert hello.headers.get_content_type() == "text/plain"
    assert hello.text == "Hello world\n"

    filtered = client.post("/", {"abra": 1, "kadabra": 2, "Alakazam": [3]})
    assert filtered.status == 200
    assert filtered.json() == {"abra": 1, "Alakazam": [3]}
