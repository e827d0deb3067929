"""A small HTTP client for the journeys: the standard library only (urllib, and the
answer type the service tier shares), so it runs wherever Python does (a CI job, an
operator's laptop, a monitoring host)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from local_platform.answer import Answer


class Client:
    """Requests against one base URL (`https://route`, `http://127.0.0.1:PORT`).

    Every status is an answer, 4xx and 5xx included: the journeys assert on them.
    Connection failures raise (OSError), so a deployment that is down fails loudly.
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        all_headers = {"Accept": "*/*", **(headers or {})}
        data = None
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=all_headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.headers, error.read())

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, document: Any) -> Answer:
        return self.request("POST", path, json_body=document)

    def put(self, path: str, document: Any) -> Answer:
        return self.request("PUT", path, json_body=document)

    def delete(self, path: str) -> Answer:
        return self.request("DELETE", path)
