"""One problem format (RFC 9457) for every error, from one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repolens.errors import (
    Conflict,
    Forbidden,
    InputError,
    NotFoundError,
    OverLimit,
    QueueUnavailable,
    Refused,
    RepolensError,
    TooLarge,
    TooManyConnections,
    Unauthenticated,
)

log = logging.getLogger(__name__)

# The first class an error is an instance of decides (a Refused is an InputError too).
STATUS = {Refused: (422, "Refused"), NotFoundError: (404, "Not found"),
          TooLarge: (413, "Content too large"), Unauthenticated: (401, "Unauthenticated"),
          Forbidden: (403, "Forbidden"),
          Conflict: (409, "Conflict"), InputError: (400, "Bad request"),
          QueueUnavailable: (503, "Service unavailable"),
          TooManyConnections: (429, "Too many connections"),
          OverLimit: (429, "Too many requests")}  # fmt: skip


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def install(app: FastAPI) -> None:
    app.add_middleware(RateHeaders)

    @app.exception_handler(RepolensError)
    async def domain(request: Request, exc: RepolensError) -> JSONResponse:
        known = (code for kind, code in STATUS.items() if isinstance(exc, kind))
        status, title = next(known, (500, "Error"))
        if isinstance(exc, OverLimit):
            response = problem(status, title, str(exc))
            response.headers.update({**exc.headers, "Retry-After": str(exc.retry_after)})
            return response
        if isinstance(exc, Refused) and exc.field:
            errors = [{"field": f"body.{exc.field}", "message": str(exc)}]
            return problem(status, title, str(exc), errors=errors)
        return problem(status, title, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in error["loc"]), "message": error["msg"]}
            for error in exc.errors()
        ]
        return problem(422, "Invalid request", "The request does not match the schema.",
                       errors=errors)  # fmt: skip

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        """A bug, or a part of the system that is away: still a problem document."""
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(500, "Internal error", f"The server could not answer: {type(exc).__name__}.")

    @app.exception_handler(HTTPException)
    async def http(request: Request, exc: HTTPException) -> JSONResponse:
        response = problem(exc.status_code, str(exc.detail), str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response


# Every operation may answer these, each as a problem document.
PROBLEMS = {400: "Bad request", 401: "A valid bearer token is required",
            403: "Not allowed to the caller", 404: "Not found",
            409: "Conflict", 413: "Content too large", 422: "Invalid or refused input",
            429: "Too many requests or connections", 500: "Internal error",
            503: "Service unavailable"}  # fmt: skip


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """SCHEMA (an OpenAPI document) with every error answer of every operation
    documented as the problem document it is (and as what else the route says
    it may be: a sign-in page's error is that page again)."""
    from repolens.api.schemas import Problem

    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(components["Problem"].pop("$defs", {}))
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            for code, description in PROBLEMS.items():
                declared = answers.get(str(code), {}).get("content", {})
                answers[str(code)] = {"description": description,
                                      "content": {**content, **declared}}  # fmt: skip
    return schema


class RateHeaders:
    """Adds where the caller stands against its rate limits (`RateLimit-*`,
    `X-RateLimit-*`), as the route's rule counted it, to every limited answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            standing = scope.get("state", {}).get("rate")
            if message["type"] == "http.response.start" and standing is not None:
                headers = MutableHeaders(scope=message)
                for name, value in standing.headers().items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, sending)
