"""gunicorn's gthread worker, but a request's head is read in the event loop, not by a thread.

gunicorn's ThreadWorker gives a connection to a thread as soon as its first bytes arrive, and
the thread then blocks on the rest of the header block with no time limit: a few clients that
send half a head each held every thread, and the server answered nobody until they left.
Here the worker's main loop collects the head without blocking (a stalled client costs one
connection slot, not a thread), refuses it with a 408 once `header_timeout` seconds pass, and
hands the connection to a thread only when gunicorn's parser can answer from what arrived.
Bodies are read by the thread exactly as before: a slow upload is not cut short.
"""

from __future__ import annotations

import re
import time
from collections import deque
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from selectors import EVENT_READ
from typing import Any, cast

from gunicorn import http, util
from gunicorn.http.message import DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE
from gunicorn.http2 import negotiation
from gunicorn.workers.gthread import STOP_KEEPALIVE_LINGER, ThreadWorker

DEFAULT_HEADER_TIMEOUT = 10.0
RECV_SIZE = 65536
_BARE_LF = re.compile(rb"(?<!\r)\n")


@dataclass(eq=False)
class Head:
    """One request head being received: the bytes so far, and when waiting for the rest ends."""

    conn: Any  # gunicorn's TConn; None once the head is handed over or refused
    deadline: float
    data: bytearray = field(default_factory=bytearray)
    polled: bool = False


def line_limit(cfg: Any) -> int:
    """gunicorn's limit on the request line (0: none), clamped as its Request does."""
    limit = int(cfg.limit_request_line)
    return MAX_REQUEST_LINE if limit < 0 or limit >= MAX_REQUEST_LINE else limit


def head_cap(cfg: Any) -> int:
    """More bytes than any head gunicorn accepts with these limits (past it, a 431 is sure)."""
    fields = int(cfg.limit_request_fields)
    fields = MAX_HEADERS if fields <= 0 or fields > MAX_HEADERS else fields
    size = int(cfg.limit_request_field_size)
    size = DEFAULT_MAX_HEADERFIELD_SIZE if size <= 0 else size
    line = line_limit(cfg) or 1024 * 1024  # "unlimited" is 1 MiB for gunicorn's C parser
    return 2 + line + 2 + fields * (size + 2) + 4


def parser_can_answer(data: bytearray, seen: int, limit: int) -> bool:
    """Whether gunicorn's parser needs no more bytes: the head ended, or it is already wrong."""
    if data.find(b"\r\n\r\n", max(seen - 3, 0)) >= 0:
        return True
    if _BARE_LF.search(data, seen):  # refused at once by the parser (RFC 9112 2.2)
        return True
    if limit <= 0:
        return False
    start = 2 if data.startswith(b"\r\n") else 0  # one empty line before the request is allowed
    end = data.find(b"\r\n", start)
    return (end if end >= 0 else len(data) - 2) - start > limit  # a 414, however it goes on


class HeadReadingWorker(ThreadWorker):
    """ThreadWorker whose threads only ever see connections with a whole request head."""

    header_timeout = DEFAULT_HEADER_TIMEOUT

    @classmethod
    def with_header_timeout(cls, seconds: float) -> type[HeadReadingWorker]:
        """This class with another header timeout (gunicorn's worker_class may be a class)."""
        subclass = type(cls.__name__, (cls,), {"header_timeout": seconds})
        return cast(type[HeadReadingWorker], subclass)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Deadlines only grow (now + the same timeout), so the first is the oldest. A head
        # handed over stays (emptied) until it reaches the front.
        self.heads: deque[Head] = deque()
        self.heads_capped = False
        self.head_limit = line_limit(self.cfg)
        self.head_bytes = head_cap(self.cfg)
        # Bytes can be collected here only when they are plain HTTP/1 from the first one.
        self.plain_http = (
            not self.cfg.is_ssl
            and getattr(self.cfg, "protocol", "http") == "http"
            and getattr(self.cfg, "proxy_protocol", "off") in ("off", False, None)
        )

    def reads_heads(self, conn: Any) -> bool:
        """Whether this connection's head is collected here (else gunicorn's own way)."""
        if not self.plain_http or conn.is_http2:
            return False
        return conn.initialized or not negotiation.prior_knowledge_allowed(self.cfg, conn.client)

    def enqueue_req(self, conn: Any) -> None:
        """Collect the next request head first (every way to the thread pool comes here)."""
        if not self.reads_heads(conn):
            super().enqueue_req(conn)
            return
        wait = self.header_timeout
        if not self.alive:
            wait = min(wait, STOP_KEEPALIVE_LINGER)
        head = Head(conn, time.monotonic() + wait)
        self.heads.append(head)
        if conn.parser is not None:  # a kept-alive connection may hold pipelined bytes
            head.data += conn.parser.unreader.take_buffered()
            if head.data and parser_can_answer(head.data, 0, self.head_limit):
                self.hand_over(head)
                return
        conn.sock.setblocking(False)
        self.read_head(head)

    def read_head(self, head: Head, *_: Any) -> None:
        """Take what the client has sent, never waiting; act once the parser can answer."""
        while True:
            try:
                data = head.conn.sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                if not head.polled:
                    head.polled = True
                    self.poller.register(head.conn.sock, EVENT_READ, partial(self.read_head, head))
                return
            except OSError:
                self.drop(head)
                return
            if not data:  # the client sends no more: the parser answers, or sees it gone
                if head.data:
                    self.hand_over(head)
                else:
                    self.drop(head)
                return
            seen = len(head.data)
            head.data += data
            if parser_can_answer(head.data, seen, self.head_limit):
                self.hand_over(head)
                return
            if len(head.data) > self.head_bytes:
                self.drop(head, 431, "Request Header Fields Too Large")
                return

    def hand_over(self, head: Head) -> None:
        """Give the connection, with its head received, to a thread."""
        conn, data = self.forget(head)
        if conn.parser is None:
            # What TConn.init does for plain HTTP/1 (the only kind collected here).
            conn.parser = http.get_parser(self.cfg, conn.sock, conn.client)
        conn.parser.unreader.unread(data)
        conn.data_ready = True  # the socket itself may have nothing left to read
        super().enqueue_req(conn)

    def drop(self, head: Head, status: int = 0, reason: str = "") -> None:
        """Close the connection, first saying why if the client had begun a request."""
        conn, data = self.forget(head)
        if status and data:
            with suppress(OSError):  # best effort: this socket never blocks the event loop
                util.write_error(conn.sock, status, reason, "")
        self.nr_conns -= 1
        conn.close()

    def forget(self, head: Head) -> tuple[Any, bytes]:
        """Stop collecting this head: its connection and bytes (the entry keeps neither)."""
        conn, data = head.conn, bytes(head.data)
        if head.polled:
            self.poller.unregister(conn.sock)
        head.conn, head.data, head.polled = None, bytearray(), False
        return conn, data

    def murder_pending(self) -> None:
        """gunicorn's expiry of idle connections, and a 408 for heads not whole in time."""
        super().murder_pending()
        now = time.monotonic()
        if not self.alive and not self.heads_capped:
            # Stopping: a head on its way gets as long as a kept-alive connection does (a
            # head begun from now on too, see enqueue_req), and the order of deadlines holds.
            self.heads_capped = True
            for head in self.heads:
                head.deadline = min(head.deadline, now + STOP_KEEPALIVE_LINGER)
        while self.heads and (self.heads[0].conn is None or self.heads[0].deadline <= now):
            head = self.heads.popleft()
            if head.conn is not None:
                self.log.debug("No whole request head from %s in %s s; closing",
                               head.conn.client, self.header_timeout)  # fmt: skip
                self.drop(head, 408, "Request Timeout")
