"""Loaded by the app under test (conftest.py puts this folder on its PYTHONPATH), so that
coverage measures the requests every uWSGI thread serves, not only the main thread's.

Coverage traces the threads that the threading module starts; uWSGI starts a worker's
request threads in C, and each one's first Python call is threading.current_thread(),
which makes it a _DummyThread. Here that thread takes the hook coverage has set for new
threads (threading.settrace), if any: without coverage, nothing changes.
"""

from __future__ import annotations

import sys
import threading


class _TracedDummyThread(threading._DummyThread):
    def __init__(self) -> None:
        super().__init__()
        hook = threading.gettrace()
        if hook is not None:
            sys.settrace(hook)


vars(threading)["_DummyThread"] = _TracedDummyThread
