"""Requests uWSGI hands over broken or too large, and bodies left unread.

uWSGI's HTTP parser (proto/http.c, 2.0.x) passes on what it could not parse whole:

- a request line without an HTTP version (`GET /`) reaches the app without PATH_INFO, or
  without REQUEST_METHOD (`GET`), or without QUERY_STRING and SERVER_PROTOCOL
  (`GET /?a=1`); Falcon's Request reads the first two before any middleware runs;
- a variable that does not fit uWSGI's buffer (buffer-size) is left out: a long query
  arrives without QUERY_STRING, as if none was sent.

`GuardedApp` looks at the environ before Falcon does and, for such a request, gives
Falcon what it needs to build a Request and leaves the answer (`REFUSAL`) for
RequestMiddleware, so that it carries the request id and is logged and counted like any
other: 400 for a broken request line, 414 for a target over MAX_TARGET_BYTES, 431 for a
head over MAX_HEAD_BYTES. What uWSGI refuses itself (a header line without a colon, a head
over buffer-size) never reaches Python: uWSGI closes the connection.

It also drains a body the app answered without reading (`drain_unread_body`), as nginx's
lingering close does: closing a socket with unread data makes the kernel send a reset,
and a client still sending its body (Python's http.client sends it all before reading)
then never reads the answer.
"""

from __future__ import annotations

import fcntl
import select
import sys
import termios
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from typing import Any

import falcon

# The environ key under which GuardedApp leaves its answer for RequestMiddleware.
REFUSAL = "example_app.refusal"

# The request target (path and query) at most: nginx's and Apache's 8 KiB request line.
MAX_TARGET_BYTES = 8192
# The head at most, counted as the app receives it: the target once, every header's name
# and value, and the server's own variables (about 0.4 KiB).
MAX_HEAD_BYTES = 16384

# Body bytes that may stay unread without harm: uWSGI reads up to buffer-size (64 KiB)
# of the body with the head, and a client's last few KiB fit its socket buffers.
UNREAD_ALLOWANCE = 65536
# A drain reads at most this many bytes, for at most this long, and stops when nothing
# arrives for DRAIN_IDLE_SECONDS: a client slower than that, or sending more, gets the
# answer and then a reset.
DRAIN_MAX_BYTES = 32 * 1024 * 1024
DRAIN_MAX_SECONDS = 2.0
DRAIN_IDLE_SECONDS = 1.0
_DRAIN_CHUNK = 256 * 1024

# What SERVER_PROTOCOL may say; uWSGI puts there whatever follows the target's first space.
_HTTP_VERSIONS = frozenset(("HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/2.0", "HTTP/3"))
_is_text = str.__instancecheck__
_join = "".join

StartResponse = Callable[..., Any]


class GuardedApp(falcon.App):  # type: ignore[type-arg]
    """falcon.App that first checks what uWSGI handed over (see the module's docstring).

    Per request: four environ lookups, a set lookup, and the head's size measured in C:
    the length of the environ's names and text values joined (the target, which uWSGI
    gives twice, counted once).
    """

    __slots__ = ()

    def __call__(self, env: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = env.get("PATH_INFO")
        query = env.get("QUERY_STRING")
        if (
            path is None
            or query is None
            or len(path) + len(query) > MAX_TARGET_BYTES
            or env.get("SERVER_PROTOCOL") not in _HTTP_VERSIONS
            or len(_join(env)) + len(_join(filter(_is_text, env.values()))) - len(path) - len(query)
            > MAX_HEAD_BYTES
        ):
            refuse_broken_head(env)
        result: Iterable[bytes] = super().__call__(env, start_response)
        if "CONTENT_LENGTH" in env:
            drain_unread_body(env)
        return result


def refuse_broken_head(env: MutableMapping[str, Any]) -> None:
    """Leave the answer to a broken or too large head in env[REFUSAL], and make the
    environ one Falcon can build a Request from. Leaves a sound request alone."""
    refusal = _refusal(env)
    if refusal is None:
        return  # a server that leaves out an empty QUERY_STRING, as PEP 3333 allows
    env[REFUSAL] = refusal
    # Nothing reaches a resource: these only name the request in the access line.
    env.setdefault("REQUEST_METHOD", "-")
    env.setdefault("PATH_INFO", "-")
    env.setdefault("QUERY_STRING", "")


def _refusal(env: Mapping[str, Any]) -> falcon.HTTPError | None:
    uri = env.get("REQUEST_URI")
    path = env.get("PATH_INFO")
    query = env.get("QUERY_STRING")
    if path is None or query is None:
        if uri is not None and (path is None or "?" in uri):
            return _target_too_long()  # uWSGI had no room left for it: see the docstring
        if "REQUEST_METHOD" not in env or path is None or "SERVER_PROTOCOL" not in env:
            return _malformed()
        return None
    if len(path) + len(query) > MAX_TARGET_BYTES:
        return _target_too_long()
    if env.get("SERVER_PROTOCOL") not in _HTTP_VERSIONS:
        return _malformed()
    return falcon.HTTPError(
        falcon.HTTP_431,
        title="Request header fields too large",
        description=f"The request line and headers must be at most {MAX_HEAD_BYTES} bytes.",
    )


def _malformed() -> falcon.HTTPError:
    return falcon.HTTPBadRequest(
        title="Malformed request line",
        description="Send the request line as METHOD TARGET HTTP/1.1.",
    )


def _target_too_long() -> falcon.HTTPError:
    return falcon.HTTPError(
        falcon.HTTP_414,
        title="URI too long",
        description=f"The path and query must be at most {MAX_TARGET_BYTES} bytes.",
    )


def drain_unread_body(env: Mapping[str, Any]) -> int:
    """Read and discard what is left of the declared body, within the caps; the bytes read.

    Only where wsgi.input says where it is (tell) and what it reads from (fileno), as
    uWSGI's does. It reads only what the socket already holds, so it never waits for a
    byte longer than the caps allow.
    """
    stream = env["wsgi.input"]
    try:
        unread = int(env["CONTENT_LENGTH"]) - stream.tell()
        if unread <= UNREAD_ALLOWANCE:
            return 0  # read whole, or small enough to leave
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return 0  # no length, or a stream that cannot say: nothing to do safely
    return _drain(stream, fd, min(unread - UNREAD_ALLOWANCE, DRAIN_MAX_BYTES))


def _drain(stream: Any, fd: int, wanted: int) -> int:
    deadline = time.monotonic() + DRAIN_MAX_SECONDS
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    drained = 0
    while drained < wanted:
        waiting = _bytes_waiting(fd)
        if not waiting:
            timeout = min(DRAIN_IDLE_SECONDS, deadline - time.monotonic())
            if timeout <= 0 or not poller.poll(timeout * 1000):
                break  # too slow, or stalled
            waiting = _bytes_waiting(fd)
            if not waiting:
                break  # readable with nothing to read: the client closed
        # The stream returns what uWSGI holds first, then reads the socket, which holds
        # at least this much: the read never waits.
        size = min(waiting, wanted - drained, _DRAIN_CHUNK)
        try:
            stream.read(size)
        except OSError:
            break
        drained += size
    return drained


def _bytes_waiting(fd: int) -> int:
    """Bytes the kernel holds for this socket, unread (FIONREAD)."""
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, bytes(4)), sys.byteorder)
