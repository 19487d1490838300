"""A fault-injecting HTTP proxy on 127.0.0.1, in front of a real server: 429s, 500s, slow answers, dropped connections.

Each request to the proxy is read whole, counted, and then either answered by a fault from the
plan or forwarded to the upstream server (one connection per request, ``Connection: close``) and
its answer relayed back. The plan is a list of faults taken one per request of the watched path
(the chat endpoint), in arrival order; when it is empty, requests pass. Every request is logged
with its body's digest, its arrival time and what the proxy did, so a test can count requests at
the server side, tell samples apart, and measure the waits between a fault and its retry.

>>> Fault.status(429, retry_after="1").kind, Fault.drop().kind
('status', 'drop')
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import threading
import time
from dataclasses import dataclass, field

#: The path whose requests are planned and counted (other paths, e.g. /health, always pass).
CHAT_PATH = "/v1/chat/completions"


@dataclass(frozen=True)
class Fault:
    """What the proxy does to one request: ``pass``, ``status`` (answer with it), ``slow`` (wait, then pass), ``drop`` (close)."""

    kind: str
    status_code: int = 0
    retry_after: str | None = None
    seconds: float = 0.0

    @classmethod
    def status(cls, code: int, retry_after: str | None = None) -> Fault:
        return cls("status", status_code=code, retry_after=retry_after)

    @classmethod
    def passing(cls) -> Fault:
        return cls("pass")

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        return cls("slow", seconds=seconds)

    @classmethod
    def drop(cls) -> Fault:
        return cls("drop")


@dataclass
class Seen:
    """One request of the watched path, logged on arrival: when, its body's digest, what was done, the status sent back
    (``None`` until the upstream answered, and for a dropped connection)."""

    arrived: float
    digest: str
    action: str
    status: int | None
    body: bytes = field(repr=False, default=b"")
    #: When the answer was written back (``None`` until then, and for a dropped connection).
    finished: float | None = None


class FaultProxy:
    """``with FaultProxy(upstream_port) as proxy:`` listens on ``proxy.port`` until the block ends."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.plan: list[Fault] = []
        self.always: Fault | None = None
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    # --- control (test thread) ------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._cancel_handlers(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _cancel_handlers(self) -> None:
        """End the connections still open (a request held by a ``slow`` fault) before the loop stops."""
        others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def answered(self) -> list[Seen]:
        """Requests the upstream answered with 200 and the proxy relayed."""
        with self._lock:
            return [s for s in self.seen if s.action in ("pass", "slow") and s.status == 200]

    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self.seen)

    # --- server (proxy thread) ------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

    def _next_fault(self, path: str) -> Fault | None:
        if path != CHAT_PATH:
            return None
        with self._lock:
            return self.plan.pop(0) if self.plan else self.always

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:  # keep-alive: one request after another on this connection
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:] if line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                fault = self._next_fault(path)
                action = fault.kind if fault is not None else "pass"
                seen = self._log(path, Seen(time.monotonic(), sample_digest(body), action, None, body))
                if action == "drop":
                    return
                if action == "status":
                    seen.status = fault.status_code
                    await self._answer_fault(writer, fault)
                    continue
                if action == "slow":
                    await asyncio.sleep(fault.seconds)
                seen.status, response = await self._forward(method, path, headers, body)
                writer.write(response)
                await writer.drain()
                seen.finished = time.monotonic()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _log(self, path: str, seen: Seen) -> Seen:
        if path == CHAT_PATH:
            with self._lock:
                self.seen.append(seen)
        return seen

    @staticmethod
    async def _answer_fault(writer: asyncio.StreamWriter, fault: Fault) -> None:
        body = json.dumps({"error": {"message": f"injected {fault.status_code}", "type": "injected", "code": fault.status_code}}).encode()
        extra = f"Retry-After: {fault.retry_after}\r\n" if fault.retry_after is not None else ""
        writer.write(
            f"HTTP/1.1 {fault.status_code} Injected\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
            + body
        )
        await writer.drain()

    async def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """Send the request upstream on a fresh connection and read its whole answer; re-frame it with a Content-Length."""
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            kept = {k: v for k, v in headers.items() if k not in ("connection", "content-length", "host", "accept-encoding")}
            head = "".join(f"{k}: {v}\r\n" for k, v in kept.items())
            writer.write(
                f"{method} {path} HTTP/1.1\r\nHost: {self.upstream[0]}:{self.upstream[1]}\r\n{head}"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            raw = await reader.read()
        finally:
            writer.close()
        status_line, _, rest = raw.partition(b"\r\n")
        response_head, _, payload = rest.partition(b"\r\n\r\n")
        fields = [line.split(b":", 1) for line in response_head.split(b"\r\n") if b":" in line]
        chunked = any(k.strip().lower() == b"transfer-encoding" and b"chunked" in v.lower() for k, v in fields)
        if chunked:
            payload = _unchunk(payload)
        kept_fields = [(k, v) for k, v in fields if k.strip().lower() not in (b"transfer-encoding", b"content-length", b"connection")]
        out = status_line + b"\r\n" + b"".join(k + b":" + v + b"\r\n" for k, v in kept_fields)
        out += f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload
        return int(status_line.split()[1]), out


def sample_digest(body: bytes) -> str:
    """A request body's identity: the digest of its JSON with sorted keys (the same sample, the same digest)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()[:16]


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out
