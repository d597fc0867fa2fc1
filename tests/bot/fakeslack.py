"""A fake Slack on 127.0.0.1: the Web API methods stopline calls, response_url posts, uploads.

A real HTTP server, so the real slack-sdk client and Bolt's respond() talk to it over TCP.
Each call is recorded; tests wait for the calls they expect (listeners run after ack()).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Call:
    """One request the fake received: the API method (or `respond`/`upload`) and its parameters."""

    method: str
    params: dict[str, Any]
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    """Records calls; answers `{"ok": true, ...}` unless a test sets another answer."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.uploads: dict[str, bytes] = {}
        self.answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {}
        self.usergroups: dict[str, list[str]] = {}
        # conversations.info's answers by channel id; any other channel is an ordinary one.
        self.conversations: dict[str, dict[str, Any]] = {}
        self.ws_url: str | None = None  # apps.connections.open's answer, for Socket Mode
        self._ids = itertools.count(1)
        self._changed = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.api_url = self.url + "/api/"
        # A short poll interval: shutdown() waits up to one interval, and every test shuts down.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()

    def response_url(self, name: str = "r") -> str:
        """A response_url Slack would put in a command or click; posts to it are `respond` calls."""
        return f"{self.url}/respond/{name}-{next(self._ids)}"

    def of(self, method: str) -> list[Call]:
        """The calls of one method so far."""
        with self._changed:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Wait until `count` calls of `method` arrived; fail the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [call for call in self.calls if call.method == method]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [call.method for call in self.calls]
                    raise AssertionError(f"expected {count} {method} call(s); calls: {seen}")
                self._changed.wait(left)

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """The reply to one Web API call."""
        if method in self.answers:
            return self.answers[method](params)
        if method == "auth.test":
            return {"ok": True, "team_id": "T0001", "user_id": "UBOT", "bot_id": "BBOT"}
        if method == "usergroups.users.list":
            group = params.get("usergroup", "")
            if group not in self.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": self.usergroups[group]}
        if method == "conversations.open":
            users = str(params.get("users", ""))
            if not users or "," in users:  # stopline opens one person's DM, never a group
                error = "invalid_user" if users else "users_list_not_supplied"
                return {"ok": False, "error": error}
            return {"ok": True, "channel": {"id": "D" + users.removeprefix("U")}}
        if method == "conversations.info":
            channel = str(params.get("channel", ""))
            if channel in self.conversations:
                return {"ok": True, "channel": self.conversations[channel]}
            return {"ok": True, "channel": ordinary_channel(channel)}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):08d}"
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = json.loads(params.get("files", "[]"))
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"), "ts": f"{time.time():.6f}",
                    "message": {"text": params.get("text")}}  # fmt: skip
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.ws_url or "ws://127.0.0.1:9/"}
        return {"ok": True}


def ordinary_channel(channel: str, **flags: Any) -> dict[str, Any]:
    """conversations.info's `channel` for a channel of one workspace (flags override)."""
    found: dict[str, Any] = {
        "id": channel, "name": "support", "is_channel": channel.startswith("C"),
        "is_group": channel.startswith("G"), "is_im": False, "is_private": False,
        "is_shared": False, "is_ext_shared": False, "is_org_shared": False,
        "is_pending_ext_shared": False,
    }  # fmt: skip
    found.update(flags)
    return found


def _params(body: bytes, content_type: str) -> dict[str, Any]:
    if not body:
        return {}
    if "json" in content_type:
        loaded = json.loads(body)
        return loaded if isinstance(loaded, dict) else {"_": loaded}
    if "form" in content_type:
        return {key: values[-1] for key, values in parse_qs(body.decode()).items()}
    return {}


def _handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {key.lower(): value for key, value in self.headers.items()}
            if self.path.startswith("/upload/"):
                file_id = self.path.rsplit("/", 1)[-1]
                fake.uploads[file_id] = body
                fake._record(Call("upload", {"file_id": file_id}, self.path, b"", headers))
                self._send(200, b"OK - " + str(len(body)).encode(), "text/plain")
                return
            params = _params(body, headers.get("content-type", ""))
            if self.path.startswith("/respond/"):
                fake._record(Call("respond", params, self.path, body, headers))
                self._send(200, b"ok", "text/plain")
                return
            method = self.path.removeprefix("/api/").split("?")[0]
            reply = fake.answer(method, params)
            fake._record(Call(method, params, self.path, body, headers))
            self._send(200, json.dumps(reply).encode(), "application/json")

        def _send(self, status: int, payload: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
