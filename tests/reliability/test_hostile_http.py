"""Failure drill "Hostile input" on the wire: hand-made malformed HTTP to a real `stopline serve`.

gunicorn (2 gthread workers) and stopline must answer 4xx or close the connection, never 500,
change nothing in the ledger, and keep serving: /healthz and a signed STOP work afterwards.
"""

from __future__ import annotations

import socket
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from ledger import tables
from tests.integration.test_serve import (
    API_TOKEN,
    Server,
    message,
    post_twilio,
    sign,
    start_server,
    stop,
)

pytestmark = pytest.mark.slow
API_LIMIT = 4096
HOST = b"Host: 127.0.0.1\r\n"
TOKEN = b"Authorization: Bearer " + API_TOKEN.encode() + b"\r\n"
CHUNKED = b"Transfer-Encoding: chunked\r\n"
FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"


def _post(path: bytes, *headers: bytes, body: bytes = b"") -> bytes:
    return b"POST " + path + b" HTTP/1.1\r\n" + HOST + b"".join(headers) + b"\r\n" + body


def _get(line: bytes, *headers: bytes) -> bytes:
    return line + b"\r\n" + HOST + b"".join(headers) + b"\r\n"


def _chunks(size: int, piece: int = 0x4000) -> bytes:
    full, rest = divmod(size, piece)
    sizes = [piece] * full + ([rest] if rest else [])
    return b"".join(b"%x\r\n%s\r\n" % (n, b"a" * n) for n in sizes) + b"0\r\n\r\n"


HOOK, API = b"/webhooks/twilio", b"/v1/consent/check"
CLOSED = None  # the server closed the connection without an answer
# (request bytes, the statuses allowed). The client half-closes after sending, so a truncated
# body or header block is truncated for good.
CASES: dict[str, tuple[bytes, set[int | None]]] = {
    "header without colon": (_get(b"GET /healthz HTTP/1.1", b"NoColonHere\r\n"), {400}),
    "header of 20 KB": (_get(b"GET /healthz HTTP/1.1", b"X-Big: " + b"a" * 20_000 + b"\r\n"),
                        {400, 431}),
    "200 headers": (_get(b"GET /healthz HTTP/1.1", *(b"X-%d: 1\r\n" % i for i in range(200))),
                    {400, 431}),
    "request line of 10 KB": (_get(b"GET /" + b"a" * 10_000 + b" HTTP/1.1"), {414}),
    "non-numeric Content-Length": (_post(HOOK, b"Content-Length: abc\r\n"), {400}),
    "negative Content-Length": (_post(HOOK, b"Content-Length: -1\r\n"), {400}),
    "two Content-Lengths": (_post(HOOK, b"Content-Length: 3\r\nContent-Length: 4\r\n",
                                  body=b"abcd"), {400}),
    "Content-Length and chunked": (_post(HOOK, b"Content-Length: 3\r\n", CHUNKED,
                                         body=b"0\r\n\r\n"), {400}),
    # Was a 500: gunicorn's InvalidChunkSize came out of the app's read of the body.
    "bad chunk size, hook": (_post(HOOK, CHUNKED, body=b"zz\r\nabc\r\n0\r\n\r\n"), {400}),
    "bad chunk size, API": (_post(b"/v1/optouts", TOKEN, CHUNKED, body=b"5\r\nabcdefgh\r\n"),
                            {400}),
    "bad chunk extension": (_post(HOOK, CHUNKED, body=b"3;\x00\r\nabc\r\n0\r\n\r\n"), {400}),
    "truncated chunk": (_post(HOOK, CHUNKED, body=b"100\r\nabc"), {400, CLOSED}),
    # RFC 9112 6.1: a transfer coding the server does not know is answered 501 (gunicorn's).
    "unknown transfer coding": (_post(HOOK, b"Transfer-Encoding: foo\r\n"), {501}),
    "Content-Length over the hook cap": (_post(HOOK, b"Content-Length: 100000\r\n"), {413}),
    "Content-Length over the API cap": (_post(API, TOKEN, b"Content-Length: 100000\r\n"), {413}),
    "... without the token": (_post(API, b"Content-Length: 100000\r\n"), {401}),
    "Expect: 100-continue, too big": (_post(HOOK, b"Expect: 100-continue\r\n",
                                            b"Content-Length: 100000\r\n"), {413}),
    "chunked over the hook cap": (_post(HOOK, CHUNKED, FORM, body=_chunks(64 * 1024 + 1)), {413}),
    "chunked over the API cap": (_post(API, TOKEN, CHUNKED, body=_chunks(API_LIMIT + 1)), {413}),
    "chunked, no token": (_post(API, CHUNKED, body=_chunks(API_LIMIT + 1)), {401}),
    "truncated form": (_post(HOOK, FORM, b"X-Twilio-Signature: x\r\nContent-Length: 100\r\n",
                             body=b"From=%2B1"), {400, 403, CLOSED}),
    "truncated JSON": (_post(b"/v1/optouts", TOKEN, b"Content-Length: 100\r\n",
                             body=b'{"phone":'), {400, CLOSED}),
    "not HTTP": (b"\x00\xff\xfe garbage\r\n\r\n", {400, CLOSED}),
    "TLS hello": (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + bytes(40), {400, CLOSED}),
    "HTTP/2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", {400, CLOSED}),
    "HTTP/9.9": (_get(b"GET /healthz HTTP/9.9"), {400}),
    "bad method": (_get(b"G@T /healthz HTTP/1.1"), {400}),
    "NUL in a header": (_get(b"GET /healthz HTTP/1.1", b"X-A: a\x00b\r\n"), {400}),
    "space in a header name": (_get(b"GET /healthz HTTP/1.1", b"Bad Name: x\r\n"), {400}),
    "folded header": (_get(b"GET /healthz HTTP/1.1", b"X-A: a\r\n b\r\n"), {400}),
    "bare LF": (b"GET /healthz HTTP/1.1\n" + HOST.replace(b"\r\n", b"\n") + b"\n", {400}),
    "raw bytes in the path": (_get(b"GET /v1/consent/\xff\xfe HTTP/1.1", TOKEN), {400}),
    "nothing at all": (b"", {CLOSED}),
}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`stopline serve` with a small API cap, for the whole module."""
    running = start_server(tmp_path_factory.mktemp("hostile-http"),
                           STOPLINE_MAX_API_BODY=str(API_LIMIT))  # fmt: skip
    try:
        yield running
    finally:
        stop(running.process)


def port(server: Server) -> int:
    """The port the server listens on."""
    return int(server.base.rsplit(":", 1)[1])


def exchange(server: Server, raw: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes, half-close, and read until the server closes (b"" if it just closes)."""
    with socket.create_connection(("127.0.0.1", port(server)), timeout=timeout) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server may refuse and close before reading everything
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
        return answer


def final_status(answer: bytes) -> int | None:
    """The status of the final response (after any 100 Continue), or None when closed."""
    statuses = [int(line.split()[1]) for line in answer.split(b"\r\n") if line.startswith(b"HTTP/")]
    final = [status for status in statuses if status >= 200]
    return final[0] if final else None


def ledger(server: Server) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the server's SQLite ledger."""
    engine = create_engine(f"sqlite:///{Path(server.log).parent / 'serve.db'}")
    try:
        with engine.connect() as conn:
            return {
                table.name: sorted((tuple(row) for row in conn.execute(select(table))), key=repr)
                for table in tables.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def healthy(server: Server, timeout: float = 10.0) -> bool:
    """True when /healthz answers 200 within `timeout` seconds."""
    try:
        with urllib.request.urlopen(f"{server.base}/healthz", timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_http_is_refused_and_changes_nothing(server: Server, name: str) -> None:
    raw, allowed = CASES[name]
    before = ledger(server)
    answer = exchange(server, raw)
    assert final_status(answer) in allowed, answer[:300]
    assert b"Traceback" not in answer
    assert ledger(server) == before
    assert healthy(server)


@contextmanager
def slow_clients(server: Server, count: int) -> Iterator[None]:
    """`count` connections that send half a header block and then nothing, until closed."""
    held = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port(server)), timeout=10)
            sock.sendall(b"POST /webhooks/twilio HTTP/1.1\r\n" + HOST)
            held.append(sock)
            time.sleep(0.01)  # spread them over both workers' accept loops
        yield
    finally:
        for sock in held:
            sock.close()


SLOW = 32  # more than the 2 workers x 4 threads of `stopline serve`


def test_slow_clients_do_not_stop_the_server_answering(server: Server) -> None:
    """Half a head holds no thread: others are answered meanwhile, and a client that sends no
    more gets a 408 once the header timeout (STOPLINE_HEADER_TIMEOUT_SECONDS, 10) has passed."""
    with slow_clients(server, SLOW):
        assert healthy(server, timeout=3.0)
        with socket.create_connection(("127.0.0.1", port(server)), timeout=30) as stalled:
            stalled.sendall(b"GET /healthz HTTP/1.1\r\n" + HOST)
            answer = b""
            while chunk := stalled.recv(65536):  # until the server closes (or 30 s: an error)
                answer += chunk
    assert final_status(answer) == 408, answer[:300]


def test_the_server_answers_again_once_slow_clients_go(server: Server) -> None:
    before = ledger(server)
    with slow_clients(server, SLOW):
        pass
    assert healthy(server)
    assert ledger(server) == before


def test_a_signed_stop_still_works_after_the_hostile_requests(server: Server) -> None:
    """Last in the module: the workers that saw every request above still do real work."""
    params = message("STOP", "SM" + "5" * 32, contact="+12065550155")
    status, body = post_twilio(server, params, sign(server, params))
    assert status == 200 and "<Message>" in body
    assert "Traceback" not in server.output()
