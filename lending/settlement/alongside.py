"""A step that runs beside the others on a second database connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import connection


class Alongside:
    """Run `fn(*args)` in a thread with its own database connection, so that PostgreSQL works
    on it in a second backend (a second core) while this thread goes on; `result()` waits and
    returns its value or raises its exception.

    Inside an enclosing transaction (a test's, or a caller's `atomic`) another connection
    would not see that transaction's rows, so there it simply runs first, inline."""

    def __init__(self, fn: Callable, *args) -> None:
        self._value: object = None
        self._error: BaseException | None = None
        self.seconds = 0.0
        self._thread = None
        if connection.in_atomic_block:
            self._call(fn, args, close=False)
            if self._error is not None:
                raise self._error
        else:
            self._thread = threading.Thread(target=self._call, args=(fn, args, True),
                                            name=f"alongside-{fn.__name__}", daemon=True)
            self._thread.start()

    def _call(self, fn: Callable, args: tuple, close: bool) -> None:
        started = time.monotonic()
        try:
            self._value = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self._error = exc
        finally:
            self.seconds = time.monotonic() - started
            if close:
                connection.close()  # this thread's own connection

    def result(self):
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
