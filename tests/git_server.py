"""A forge's git side on loopback: bare repositories under a directory served
over smart HTTP by git's own `git http-backend`, so a project's URL can be a
forge-like `http://127.0.0.1:PORT/owner/name.git` that repolens fetches for real."""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class GitServer(ThreadingHTTPServer):
    """With PASSWORD_PREFIX, private: only Basic credentials whose password starts
    with it are served (as GitHub takes an installation token); the rest get 401.
    Every Authorization header it was sent is kept in `seen`."""

    def __init__(self, root: Path, password_prefix: str | None = None) -> None:
        self.root, self.password_prefix = root, password_prefix
        self.seen: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                if not self._allowed():
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="forge"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                env = {**os.environ, "GIT_PROJECT_ROOT": str(server.root),
                       "GIT_HTTP_EXPORT_ALL": "1", "REQUEST_METHOD": self.command,
                       "PATH_INFO": parts.path, "QUERY_STRING": parts.query,
                       "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                       "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1",
                       "GIT_PROTOCOL": self.headers.get("Git-Protocol", "")}  # fmt: skip
                done = subprocess.run(["git", "http-backend"], input=body, env=env,
                                      capture_output=True, check=False)  # fmt: skip
                head, _, payload = done.stdout.partition(b"\r\n\r\n")
                headers = [line.split(":", 1) for line in head.decode().splitlines() if ":" in line]
                status = next((int(v.split()[0]) for k, v in headers if k.lower() == "status"), 200)
                self.send_response(status)
                for name, value in headers:
                    if name.lower() != "status":
                        self.send_header(name.strip(), value.strip())
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _allowed(self) -> bool:
                given = self.headers.get("Authorization", "")
                server.seen.append(given)
                if server.password_prefix is None:
                    return True
                scheme, _, encoded = given.partition(" ")
                try:
                    _, _, password = base64.b64decode(encoded).decode().partition(":")
                except ValueError:
                    return False
                return scheme == "Basic" and password.startswith(server.password_prefix)

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:
                pass

        server = self
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{name}.git"

    def publish(self, name: str, work: Path) -> None:
        """Make the repository at WORK (a working tree) available as NAME, pushed
        in full; call again after new commits."""
        bare = self.root / f"{name}.git"
        if not bare.exists():
            bare.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "init", "--quiet", "--bare", str(bare)], check=True)
        subprocess.run(["git", "-C", str(work), "push", "--quiet", "--force", "--all",
                        str(bare)], check=True)  # fmt: skip
