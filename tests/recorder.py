"""A small real HTTP server on loopback that plays someone we cannot reach (a
notification receiver, a forge's git side): it keeps every request it gets and
answers with the next of its status codes, the last one from then on."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Recorder(ThreadingHTTPServer):
    def __init__(self, answers: list[int], headers: dict[str, str] | None = None) -> None:
        self.answers, self.received = list(answers), list[Request]()
        extra = headers or {}

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                server.received.append(Request(self.command, self.path, dict(self.headers), body))
                answers = server.answers
                self.send_response(answers.pop(0) if len(answers) > 1 else answers[0])
                for name, value in {**extra, "Content-Length": "0"}.items():
                    self.send_header(name, value)
                self.end_headers()

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        server = self
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"
