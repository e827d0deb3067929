"""The docs page and Swagger UI's files under uWSGI: GET and HEAD answer them whole, with
their media types. (Which files, which methods: tests/test_docs.py, in process.)"""

from __future__ import annotations

import re

from service_tests.harness import AppServer

ASSET_REFERENCE = re.compile(r'(?:src|href)="(/docs/[^"]+)"')
MEDIA_TYPES = {
    "": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
}


def test_get_and_head_answer_the_page_and_each_asset_with_its_media_type(
    app_server: AppServer,
) -> None:
    assets = ASSET_REFERENCE.findall(app_server.get("/docs").text)
    assert len(assets) == 5, assets  # stylesheet, two icons, Swagger UI, our initializer
    for path in ["/docs", *assets]:
        expected = MEDIA_TYPES[path[path.rindex(".") :] if "." in path else ""]
        got = app_server.request("GET", path)
        head = app_server.request("HEAD", path)

        assert (got.status, head.status) == (200, 200), path
        assert got.headers["Content-Type"] == head.headers["Content-Type"] == expected, path
        assert int(head.headers["Content-Length"]) == len(got.body) > 0, path
        assert head.body == b"", path
