"""The services this one is bound to: one declaration each, and everything else follows.

From BINDINGS, config.py reads each service from VCAP_SERVICES or its local variable and
lists those variables in ENVIRONMENT_VARIABLES; app.py builds a client for every
downstream service and has readiness check the critical ones; the tests and local
deployments (local_platform/) start each by its kind and bind it. To call another
service, declare it here and hand its client to the resource that calls it
(README, "Calling another service").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

# Debian's redis-server on the local platform; found in VCAP_SERVICES by its label or tags.
REDIS: Final = "redis"
# Another service called over HTTP (clients.py); a user-provided binding, found by name.
HTTP: Final = "http"

Kind = Literal["redis", "http"]


@dataclass(frozen=True)
class Binding:
    # The service instance's name: a manifest's `services:` entry, or what
    # `cf create-user-provided-service` was given.
    name: str
    kind: Kind
    # Where its URL is set when nothing is bound (a local run): REDIS_URL, PRICING_URL.
    variable: str
    # For HTTP: readiness fails while it is down, unless the binding's credentials or
    # NAME_CRITICAL say otherwise. The store is always checked.
    critical: bool = False

    @property
    def critical_variable(self) -> str:
        return self.variable.removesuffix("_URL") + "_CRITICAL"

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables that configure it locally."""
        if self.kind == HTTP:
            return (self.variable, self.critical_variable)
        return (self.variable,)


# The item store (redis_store.py): without it, items live in memory.
STORE = Binding("example-app-redis", REDIS, "REDIS_URL")
# Asked for prices by GET /items/{key}/price (resources.py).
PRICING = Binding("pricing", HTTP, "PRICING_URL")

BINDINGS = (STORE, PRICING)
