"""The service's own API: the talk's example endpoints, items, and a call to another service."""

from __future__ import annotations

import re

import falcon

from example_app.bindings import PRICING
from example_app.clients import DownstreamClient, DownstreamError
from example_app.json_body import read_json_object
from example_app.storage import ItemStore


class HelloResource:
    """`GET /` greets; `POST /` keeps the keys of a JSON object that start with "a"."""

    def __init__(self, max_body_bytes: int) -> None:
        self._max_body_bytes = max_body_bytes

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "Hello world\n"

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        document = read_json_object(req, self._max_body_bytes)
        resp.media = {key: value for key, value in document.items() if key[:1].lower() == "a"}


# Item keys appear in URLs and Redis keys: URL-safe characters only, and short. The
# first is a letter or digit, so no key is a "." or ".." that clients would rewrite.
ITEM_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,127}")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def _valid_key(key: str) -> str:
    if not ITEM_KEY_PATTERN.fullmatch(key):
        raise falcon.HTTPBadRequest(
            title="Invalid item key",
            description=(
                "A key is 1 to 128 letters, digits, '.', '_', '~' or '-', "
                "starting with a letter or digit."
            ),
        )
    return key


class ItemResource:
    """`/items/{key}`: one JSON object per key, owned by this service."""

    def __init__(self, store: ItemStore, max_body_bytes: int) -> None:
        self._store = store
        self._max_body_bytes = max_body_bytes

    def on_get(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        value = self._store.get(_valid_key(key))
        if value is None:
            raise falcon.HTTPNotFound(description=f"There is no item {key!r}.")
        resp.media = value

    def on_put(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        _valid_key(key)
        value = read_json_object(req, self._max_body_bytes)
        created = self._store.put(key, value, req.context.request_id)
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        if created:
            resp.location = req.path
        resp.media = value

    def on_delete(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        if not self._store.delete(_valid_key(key), req.context.request_id):
            raise falcon.HTTPNotFound(description=f"There is no item {key!r}.")
        resp.status = falcon.HTTP_204


class ItemCollectionResource:
    """`GET /items?limit=N&cursor=K`: keys in order, a page at a time."""

    def __init__(self, store: ItemStore) -> None:
        self._store = store

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        limit = req.get_param_as_int(
            "limit", min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE
        )
        cursor = req.get_param("cursor")
        if cursor is not None:
            _valid_key(cursor)
        # One key more than asked tells whether another page follows.
        keys = self._store.keys(limit + 1, after=cursor)
        page = keys[:limit]
        next_cursor = page[-1] if len(keys) > limit else None
        resp.media = {"keys": page, "next_cursor": next_cursor}


class ItemPriceResource:
    """`GET /items/{key}/price`: a service-to-service call, to the pricing service.

    Shows the pattern: find the other service by name in the configuration, call it with
    a timeout and our request id, and turn its failures into 502/504 (see errors.py).
    """

    def __init__(self, store: ItemStore, pricing: DownstreamClient | None) -> None:
        self._store = store
        self._pricing = pricing

    def on_get(self, req: falcon.Request, resp: falcon.Response, key: str) -> None:
        # Only items this service has are priced: no call for a key that does not exist.
        if self._store.get(_valid_key(key)) is None:
            raise falcon.HTTPNotFound(description=f"There is no item {key!r}.")
        if self._pricing is None:
            raise falcon.HTTPServiceUnavailable(
                title="Pricing not bound",
                description=f"Bind a service named {PRICING.name!r} or set {PRICING.variable}.",
            )
        status, body = self._pricing.request("GET", f"/prices/{key}", req.context.request_id)
        if status == 404:
            raise falcon.HTTPNotFound(description=f"The pricing service has no price for {key!r}.")
        if status != 200 or not isinstance(body, dict):
            raise DownstreamError("pricing", f"answered {status} without a price object")
        resp.media = {"key": key, "price": body}
