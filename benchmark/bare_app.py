"""The `falcon-bare` contender: the service's two benchmarked endpoints on a bare Falcon app.

No middleware, no access log, no metrics, no request ids, no body limits: Falcon's
defaults only. Run under a copy of uwsgi.ini that differs only in its `module` line
(benchmark/contenders.py), it is the limit the shipped service's middleware is measured
against: what the same server costs with nothing but Falcon in the request path.

Falcon's default media handlers take JSON and HTML forms; it answers a POST of any other
media type (text/plain, say) with 415 by itself, as check_answers in benchmark/server.py
requires of every contender.
"""

from __future__ import annotations

from typing import Any

import falcon


class Root:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "Hello world\n"

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        doc: dict[str, Any] = req.get_media()
        resp.media = {k: v for k, v in doc.items() if k[:1].lower() == "a"}


app = falcon.App()
app.add_route("/", Root())
