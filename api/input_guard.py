"""Refuse NUL characters in paths and query strings before they reach a handler.

PostgreSQL text cannot hold U+0000, so a NUL would otherwise surface as a database error (a 500)
instead of the client's mistake (a 422). Request bodies are checked by their models (schemas.RequestBody).
"""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Receive, Scope, Send


class RejectNulMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
            if (
                b"\x00" in unquote_to_bytes(raw_path)
                or "\x00" in scope["path"]
                or b"\x00" in unquote_to_bytes(scope.get("query_string", b""))
            ):
                body = json.dumps(
                    {
                        "error": {
                            "type": "invalid_request",
                            "code": 422,
                            "message": "the URL contains a NUL character (%00), which no parameter may hold",
                        }
                    }
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 422,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
