"""What the journeys run against."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deployment:
    base_url: str
    # The version the deployment must report, in /info and in its API document.
    expected_version: str
