"""The codec server: lets an authorised person read decrypted payloads in the Temporal UI.

It speaks Temporal's remote codec protocol (`POST /decode`, `POST /encode`, JSON payloads in proto
JSON form) and refuses any request without the bearer token from settings (`MVP_CODEC_TOKEN`, or the
development key file). Point the UI at it with `--ui-codec-endpoint` (the embedded stack does).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from infra.codec import EncryptionCodec

log = logging.getLogger("mvp.codec")


def make_server(
    host: str, port: int, codec: EncryptionCodec, token: str, ui_origin: str
) -> ThreadingHTTPServer:
    if not token:
        raise ValueError("the codec server needs a bearer token")

    class Handler(BaseHTTPRequestHandler):
        def _cors(self) -> None:
            self.send_header("Access-Control-Allow-Origin", ui_origin)
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header("Access-Control-Allow-Headers", "Content-Type, Authorization, X-Namespace")
            self.send_header("Access-Control-Allow-Credentials", "true")

        def _reply(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self._cors()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(HTTPStatus.NO_CONTENT)
            self._cors()
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802
            if self.path not in ("/decode", "/encode"):
                self._reply(HTTPStatus.NOT_FOUND, {"error": "use /decode or /encode"})
                return
            given = self.headers.get("Authorization", "")
            if not given.startswith("Bearer ") or not hmac.compare_digest(given[7:].encode(), token.encode()):
                self._reply(HTTPStatus.UNAUTHORIZED, {"error": "a valid bearer token is required"})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                payloads = json_format.Parse(self.rfile.read(length), Payloads()).payloads
            except (ValueError, json_format.ParseError):
                self._reply(HTTPStatus.BAD_REQUEST, {"error": 'the body must be {"payloads": [...]}'})
                return
            work = codec.decode if self.path == "/decode" else codec.encode
            try:
                result: list[Payload] = asyncio.run(work(payloads))
            except Exception:  # a payload under a key we do not hold; say so without details
                self._reply(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": "cannot decode these payloads"})
                return
            self._reply(HTTPStatus.OK, {"payloads": [json_format.MessageToDict(p) for p in result]})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.info("codec %s", format % args)  # request lines only: paths and status codes

    return ThreadingHTTPServer((host, port), Handler)


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="codec-server", daemon=True)
    thread.start()
    return thread
