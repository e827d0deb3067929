"""SIGTERM without dropping a connection: refuse new ones, answer those queued, then stop.

uWSGI's own graceful stop closes the listening socket while connections the kernel has
already accepted for it still wait in its queue: each of those gets a reset, which a
router in front turns into a 502 that it cannot safely retry. So uwsgi.ini routes
SIGTERM to one worker as a uWSGI signal (`register`), and that worker's drain:

1. makes the kernel ignore new connection attempts (SYNs) on the listening socket, with
   a socket filter: the caller's retransmitted SYN meets a closed port a second later,
   a refusal that a router retries on another instance;
2. waits until the workers have taken every connection already queued;
3. asks the uWSGI master for its graceful stop, through its FIFO (uwsgi.ini's
   master-fifo): the workers finish the request in hand and exit.

Only under uWSGI, on Linux. The service tier tests it against the real server.
"""

from __future__ import annotations

import ctypes
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger(__name__)

# The uWSGI signal number uwsgi.ini's `unix_signal:15 uwsgi_route_signal` sends: the
# route takes the Unix signal's number as the uWSGI signal's.
ROUTED_SIGTERM = 15
# The most the drain waits for the queue to empty; uwsgi.ini's worker-reload-mercy (8 s)
# then bounds the requests in hand, inside the platform's 10 s before SIGKILL.
MAX_QUEUE_WAIT_SECONDS = 1.5
# How long the queue must stay empty: a handshake that began before the filter may still
# complete (its ACK passes the filter) and join the queue within a round trip.
SETTLE_SECONDS = 0.1
_POLL_SECONDS = 0.005

# A classic BPF program run on each packet for the listening socket, from the TCP
# header: drop a SYN without ACK (a new connection attempt), keep everything else.
_SYN_FILTER = [
    (0x30, 0, 0, 13),  # ldb [13]          the TCP flags
    (0x54, 0, 0, 0x12),  # and #0x12       SYN | ACK
    (0x15, 0, 1, 0x02),  # jeq #0x02       SYN alone?
    (0x06, 0, 0, 0),  # ret #0             drop
    (0x06, 0, 0, 0xFFFFFFFF),  # ret #-1   keep
]
_SO_ATTACH_FILTER = 26
_TCP_INFO_UNACKED_OFFSET = 24  # struct tcp_info: for a listener, its accept queue length


def register(uwsgi: Any) -> None:
    """Run the drain in a worker when the master routes SIGTERM to the workers."""
    fifo = uwsgi.opt.get("master-fifo")
    if not fifo:
        raise RuntimeError("uwsgi.ini needs master-fifo for the SIGTERM drain")
    fifo_path = fifo.decode() if isinstance(fifo, bytes) else str(fifo)
    started = threading.Event()

    def on_sigterm(signum: int) -> None:
        # In the worker's request loop: the drain runs beside it, while the loop goes on
        # taking the queued connections.
        if not started.is_set():
            started.set()
            drain = ListenQueueDrain(list(uwsgi.sockets), lambda: request_stop(fifo_path))
            threading.Thread(target=drain.run, name="sigterm-drain", daemon=True).start()

    uwsgi.register_signal(ROUTED_SIGTERM, "worker", on_sigterm)


class ListenQueueDrain:
    def __init__(
        self,
        listening_fds: Sequence[int],
        stop: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fds = listening_fds
        self._stop = stop
        self._clock = clock

    def run(self) -> None:
        try:
            for fd in self._fds:
                refuse_new_connections(fd)
            self._wait_for_empty_queues()
        except OSError:
            log.exception("drain failed; stopping at once")
        finally:
            self._stop()

    def _wait_for_empty_queues(self) -> None:
        give_up_at = self._clock() + MAX_QUEUE_WAIT_SECONDS
        empty_since = None
        while self._clock() < give_up_at:
            if any(queued_connections(fd) for fd in self._fds):
                empty_since = None
            elif empty_since is None:
                empty_since = self._clock()
            elif self._clock() - empty_since >= SETTLE_SECONDS:
                return
            time.sleep(_POLL_SECONDS)
        log.warning("connections still queued after %s s of drain", MAX_QUEUE_WAIT_SECONDS)


def refuse_new_connections(listening_fd: int) -> None:
    """Attach the SYN-dropping filter; connections already made are not affected."""
    program = b"".join(struct.pack("HBBI", *instruction) for instruction in _SYN_FILTER)
    instructions = ctypes.create_string_buffer(program)
    fprog = struct.pack("HL", len(_SYN_FILTER), ctypes.addressof(instructions))
    with socket.socket(fileno=os.dup(listening_fd)) as listener:
        listener.setsockopt(socket.SOL_SOCKET, _SO_ATTACH_FILTER, fprog)


def queued_connections(listening_fd: int) -> int:
    """Connections the kernel has accepted that no worker has taken yet."""
    with socket.socket(fileno=os.dup(listening_fd)) as listener:
        info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    return int(struct.unpack_from("I", info, _TCP_INFO_UNACKED_OFFSET)[0])


def request_stop(master_fifo: str) -> None:
    """uWSGI's graceful stop: `q` on the master FIFO."""
    fd = os.open(master_fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, b"q")
    finally:
        os.close(fd)
