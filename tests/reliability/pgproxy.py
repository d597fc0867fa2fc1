"""A TCP proxy in front of PostgreSQL that breaks the connection on the Nth frontend message.

Frontend messages are a type byte and a 4-byte length (the length counts itself); the
startup packet (and an SSL or GSS request before it) has no type byte. The proxy counts the
messages every client sends, across connections, from the moment it is armed, and at the
Nth it breaks that connection in one of three ways (Cut):

- DROP: the message is not forwarded and both sockets are closed (a network failure);
- FATAL: the message is not forwarded; the client gets the ErrorResponse a backend sends on
  `pg_ctl stop -m immediate` / pg_terminate_backend (FATAL 57P01), then both are closed;
- AFTER: the message is forwarded, then both sockets are closed (the server may act on it,
  a COMMIT among them, without the client ever seeing the answer);
- REPLY: N counts the server's messages instead: the client gets the first N-1 of them,
  then FATAL 57P01 in place of the Nth (a backend killed while it was answering).

Only one break per arming: connections opened afterwards pass through untouched.
"""

from __future__ import annotations

import contextlib
import enum
import socket
import struct
import threading
from dataclasses import dataclass, field

# Untyped packets that are followed by another untyped one (the startup message).
_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


class Cut(enum.Enum):
    """How the Nth message breaks its connection."""

    DROP = "drop"
    FATAL = "fatal"
    AFTER = "after"
    REPLY = "reply"


def admin_shutdown() -> bytes:
    """The ErrorResponse of a backend terminated by an administrator (SQLSTATE 57P01)."""
    fields = b"".join(
        code + text.encode() + b"\0"
        for code, text in (
            (b"S", "FATAL"),
            (b"V", "FATAL"),
            (b"C", "57P01"),
            (b"M", "terminating connection due to administrator command"),
        )
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


@dataclass
class _Link:
    client: socket.socket
    server: socket.socket
    started: bool = False  # the startup message went by: every later message is typed
    buffer: bytearray = field(default_factory=bytearray)
    replies: bytearray = field(default_factory=bytearray)  # from the server, not yet whole
    mute: bool = False  # broken: nothing more from the server reaches the client

    def close(self) -> None:
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class PgProxy:
    """Listens on 127.0.0.1; forwards to PostgreSQL; breaks on the Nth message once armed."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self.seen: list[str] = []  # the types of the messages counted since arming
        self._cut_at: int | None = None
        self._cut = Cut.DROP
        self.broken: str | None = None  # the type of the message that broke, once it did
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="pgproxy-accept").start()

    def arm(self, at: int | None, cut: Cut = Cut.DROP) -> None:
        """Count messages from now on; break at the `at`-th (1-based), or never when None."""
        with self._lock:
            self.seen = []
            self._cut_at, self._cut, self.broken = at, cut, None

    def close(self) -> None:
        """Stop listening and close every connection."""
        with self._lock:
            self._closed = True
            links, self._links = self._links, []
        self._listener.close()
        for link in links:
            link.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            for sock in (client, server):  # no Nagle: small messages go out at once
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            link = _Link(client, server)
            with self._lock:
                if self._closed:
                    link.close()
                    return
                self._links.append(link)
            threading.Thread(target=self._upstream, args=(link,), daemon=True).start()
            threading.Thread(target=self._downstream, args=(link,), daemon=True).start()

    def _downstream(self, link: _Link) -> None:
        try:
            while data := link.server.recv(65536):
                link.replies += data
                if not self._reply(link):
                    return
        except OSError:
            pass
        link.close()

    def _reply(self, link: _Link) -> bool:
        """Pass every whole server message on; False once the link was broken."""
        out = bytearray()
        while (message := _typed(link.replies)) is not None:
            with self._lock:
                if link.mute:
                    return False
                breaking = False
                if self._cut is Cut.REPLY and self.broken is None:
                    self.seen.append(message[0])
                    breaking = len(self.seen) == self._cut_at
                    if breaking:
                        self.broken, link.mute = message[0], True
            if breaking:
                link.client.sendall(out + admin_shutdown())
                link.close()
                return False
            out += message[1]
        with self._lock:
            if link.mute:
                return False
            link.client.sendall(out)
        return True

    def _upstream(self, link: _Link) -> None:
        try:
            while data := link.client.recv(65536):
                link.buffer += data
                if not self._forward(link):
                    return
        except OSError:
            pass
        link.close()

    def _forward(self, link: _Link) -> bool:
        """Forward every complete message in the buffer; False once the link was broken."""
        out = bytearray()
        while (message := _take(link)) is not None:
            kind, raw = message
            with self._lock:
                breaking = False
                # Not Terminate: a closed pooled connection's may come in at any moment.
                if self.broken is None and kind != "X" and self._cut is not Cut.REPLY:
                    self.seen.append(kind)
                    breaking = len(self.seen) == self._cut_at
                if breaking:
                    # Before message N goes: no answer the server gives from now on gets through.
                    self.broken, link.mute = kind, True
            if not breaking:
                out += raw
                continue
            if self._cut is Cut.AFTER:
                out += raw
            link.server.sendall(out)
            if self._cut is Cut.FATAL:
                link.client.sendall(admin_shutdown())
            link.close()
            return False
        link.server.sendall(out)
        return True


def _take(link: _Link) -> tuple[str, bytes] | None:
    """The next complete message (its type, its bytes) off the buffer, or None."""
    buf = link.buffer
    if not link.started:
        if len(buf) < 8:
            return None
        length, code = struct.unpack("!II", buf[:8])
        if len(buf) < length:
            return None
        raw = bytes(buf[:length])
        del buf[:length]
        link.started = code not in (_SSL_REQUEST, _GSSENC_REQUEST)
        return ("startup" if link.started else "request"), raw
    return _typed(buf)


def _typed(buf: bytearray) -> tuple[str, bytes] | None:
    """The next complete typed message off the buffer, or None."""
    if len(buf) < 5:
        return None
    (length,) = struct.unpack("!I", buf[1:5])
    if len(buf) < 1 + length:
        return None
    raw = bytes(buf[: 1 + length])
    del buf[: 1 + length]
    return chr(raw[0]), raw
