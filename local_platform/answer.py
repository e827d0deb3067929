"""What an HTTP request answered, read to the end: the service tier's requests and the
e2e tier's return one. The standard library only, as the e2e tier's client is."""

from __future__ import annotations

import json
from dataclasses import dataclass
from email.message import Message
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)
