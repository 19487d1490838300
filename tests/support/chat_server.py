"""A small OpenAI-compatible chat server on 127.0.0.1 for ``lego-arta converse`` tests: real HTTP, answers from the request alone.

It answers ``POST /v1/chat/completions`` with a chat completion whose text depends only on the
request (the last user text: a state question gets ``No.``, "Which piece" a box, any other a fix),
so a run asked again gets the same answers. Each request is logged on arrival (its body's digest,
its ``Authorization`` header, when it came, the status sent back). A ``plan`` of faults is taken
one per request (an HTTP status with an optional ``Retry-After`` and an error body, or ``None``:
answer it), and
``hold_at=N`` makes the N-th request (1-based) wait, unanswered, until :meth:`release`, with
:attr:`held` set: a test kills its client there, mid-run, at a known request.

>>> with ChatServer() as server:
...     server.url.startswith("http://127.0.0.1:") and server.url.endswith("/v1")
True
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: The path the server answers.
CHAT_PATH = "/v1/chat/completions"
#: The box it answers "Which piece is wrong?" with.
BOX_ANSWER = "<p>brick</p>{<10><10><40><40>}"
#: The fix it answers any other turn with.
FIX_ANSWER = "Move it 1 stud to the left."


@dataclass(frozen=True)
class Fault:
    """An HTTP error answer: its status, an optional ``Retry-After`` and the error message in its body."""

    status: int
    retry_after: str | None = None
    message: str = "injected"


@dataclass
class Request:
    """One chat request as the server saw it."""

    arrived: float
    digest: str
    authorization: str | None
    status: int | None = None
    body: bytes = field(repr=False, default=b"")


def body_digest(body: bytes) -> str:
    """The identity of a request body: SHA-256 of its JSON with sorted keys."""
    return hashlib.sha256(json.dumps(json.loads(body), sort_keys=True).encode()).hexdigest()


def answer_text(payload: dict) -> str:
    """The answer to a chat request: read from its last user text only."""
    last = payload["messages"][-1]["content"]
    text = " ".join(part["text"] for part in last if part.get("type") == "text")
    if text.startswith("[state]"):
        return "No."
    return BOX_ANSWER if text.startswith("Which piece") else FIX_ANSWER


class ChatServer:
    """``with ChatServer() as server:`` serves on ``server.port`` until the block ends."""

    def __init__(self, *, plan: list[Fault | None] | None = None, hold_at: int | None = None) -> None:
        self.plan = list(plan or [])
        self.hold_at = hold_at
        self.requests: list[Request] = []
        self.held = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def release(self) -> None:
        """Let a held request go on (its answer goes to whoever still listens)."""
        self._release.set()

    def answered(self) -> list[Request]:
        """The requests answered with 200."""
        with self._lock:
            return [r for r in self.requests if r.status == 200]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet: the test reads server.requests
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != CHAT_PATH:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                seen = Request(time.monotonic(), body_digest(body), self.headers.get("Authorization"), body=body)
                with server._lock:
                    server.requests.append(seen)
                    number = len(server.requests)
                    fault = server.plan.pop(0) if server.plan else None
                if server.hold_at == number:
                    server.held.set()
                    server._release.wait(60)
                if fault is not None:
                    seen.status = fault.status
                    extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                    self._send(fault.status, {"error": {"message": fault.message, "type": "injected"}}, extra)
                    return
                payload = json.loads(body)
                answer = {
                    "id": f"chat-{number}",
                    "object": "chat.completion",
                    "model": payload["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": answer_text(payload)}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105},
                }
                seen.status = 200
                self._send(200, answer)

            def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client was killed while its request was held
                    pass

        return Handler
