"""The service's own API: the example endpoints of the original talk."""

from __future__ import annotations

import falcon

from example_app.json_body import read_json_object


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
