"""A small real forge API on loopback: the few GitHub, GitLab and Gitea calls
repolens makes, each recorded, each answered as the forge would. Answers can
be scripted ahead (a rate limit first, say); ids count up from 100."""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    answer: Any = None  # what the fake forge answered
    status: int = 200

    @property
    def authorization(self) -> str:
        return self.headers.get("Authorization", "")


CREATES = [  # (method, path pattern): these answer with a new id
    ("POST", r".*/check-runs"),
    ("POST", r".*/issues/\d+/comments"),
    ("POST", r".*/merge_requests/\d+/notes"),
]


class FakeForge(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.scripted: list[tuple[int, dict[str, str]]] = []  # answered first, in order
        self.check_runs: list[dict[str, Any]] = []  # as created, for listing
        self.comments: dict[str, list[dict[str, Any]]] = {}  # by the path they were posted to
        ids = itertools.count(100)
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                body = json.loads(raw) if raw else None
                self._body = body if isinstance(body, dict) else {}
                with lock:
                    scripted = forge.scripted.pop(0) if forge.scripted else None
                    made = next(ids)
                status, answer, headers = self._decide(scripted, made)
                with lock:
                    forge.calls.append(Call(self.command, self.path, dict(self.headers), body,
                                            answer, status))  # fmt: skip
                self._send(status, answer, headers)

            def _decide(self, scripted: tuple[int, dict[str, str]] | None,
                        made: int) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
                if scripted is not None:
                    return scripted[0], {"message": "rate limited"}, scripted[1]
                if self.command == "POST" and self.path.endswith("/access_tokens"):
                    expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
                    return 201, {"token": f"ghs_installation{made}", "expires_at": expires}, {}
                if any(self.command == m and re.fullmatch(p, self.path) for m, p in CREATES):
                    if self.path.endswith("/check-runs"):
                        forge.check_runs.append({"id": made, **self._body})
                    else:
                        forge.comments.setdefault(self.path, []).append({"id": made, **self._body})
                    return 201, {"id": made}, {}
                listing = re.fullmatch(r".*/commits/(\w+)/check-runs(\?.*)?", self.path)
                if self.command == "GET" and listing:
                    found = [run for run in forge.check_runs
                             if run.get("head_sha") == listing.group(1)]  # fmt: skip
                    return 200, {"total_count": len(found), "check_runs": found}, {}
                if self.command == "GET":
                    return 200, forge.comments.get(self.path.split("?")[0], []), {}
                return 200, {}, {}

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {**(headers or {}), "Content-Type": "application/json",
                                    "Content-Length": str(len(data))}.items():  # fmt: skip
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = _answer

            def log_message(self, *args: Any) -> None:
                pass

        forge = self
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def made(self, method: str, pattern: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.fullmatch(pattern, c.path)]
