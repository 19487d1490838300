"""A loopback stand-in for the Hugging Face Hub's HTTP API, so push tests drive the real ``HfApi``
client over real HTTP without the network.

It answers what huggingface_hub 2.x sends for ``create_repo`` + ``list_repo_tree`` + ``create_commit``:

- ``POST /api/repos/create``; a new repo gets the Hub's initial commit (a ``.gitattributes``);
- ``POST /api/validate-yaml`` (``create_commit`` validates a committed README.md's metadata first);
- ``POST /api/<type>s/<ns>/<name>/preupload/<rev>``: ``uploadMode`` ``regular`` (content travels
  base64-encoded inside the commit) or, with ``lfs_uploads=True``, ``lfs`` for binary or large files;
- the legacy Git LFS protocol: ``POST /<prefix><ns>/<name>.git/info/lfs/objects/batch``, a ``PUT``
  to a signed storage URL (no Authorization header, as on S3), ``POST`` verify;
- ``POST /api/<type>s/<ns>/<name>/commit/<rev>`` (NDJSON: header, file, lfsFile, deletedFile,
  deletedFolder), applied all-or-nothing;
- ``GET /api/<type>s/<ns>/<name>/tree/<rev>[/<path>]`` and ``GET /api/<type>s/<ns>/<name>[/revision/<rev>]``.

It does not speak Xet: with ``lfs_uploads=True`` the client must run with Xet disabled
(``huggingface_hub.constants.HF_HUB_DISABLE_XET = True``); otherwise huggingface_hub ≥ 1.0 sends
"lfs" files through Xet storage and the stand-in answers 501. Only the branch ``main`` exists.
Committed files land byte for byte in ``root/<type>s/<ns>/<name>/``.

>>> with HubStandIn(tmp_path, token="hf_test") as hub:           # doctest: +SKIP
...     HfApi(endpoint=hub.endpoint, token="hf_test").create_repo("org/x", repo_type="dataset")
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

DEFAULT_BRANCH = "main"
#: The Hub stores a file through LFS when it is binary or at least this large (its documented rule).
LFS_SIZE_THRESHOLD = 10 * 1024 * 1024
#: Refuse request bodies above this size: the stand-in keeps whole bodies in memory.
MAX_BODY_BYTES = 512 * 1024 * 1024
#: Seconds a connection may stay silent before the handler gives up (no test can hang on a socket).
SOCKET_TIMEOUT_S = 10.0
#: Seconds ``stop`` waits for the serving thread.
STOP_TIMEOUT_S = 5.0
#: What the Hub seeds a new repo with (abridged to the patterns a dataset build produces).
INITIAL_GITATTRIBUTES = (
    "*.parquet filter=lfs diff=lfs merge=lfs -text\n"
    "*.arrow filter=lfs diff=lfs merge=lfs -text\n"
    "*.png filter=lfs diff=lfs merge=lfs -text\n"
    "*.jpg filter=lfs diff=lfs merge=lfs -text\n"
)
REPO_TYPE_PATHS = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}

_TYPES = "(?P<type>models|datasets|spaces)"
_REPO = r"(?P<ns>[^/]+)/(?P<name>[^/]+)"
_API_REPO = rf"^/api/{_TYPES}/{_REPO}"
ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"^/api/repos/create$"), "create_repo"),
    ("POST", re.compile(r"^/api/validate-yaml$"), "validate_yaml"),
    ("POST", re.compile(rf"{_API_REPO}/preupload/(?P<rev>[^/]+)$"), "preupload"),
    ("POST", re.compile(rf"{_API_REPO}/commit/(?P<rev>[^/]+)$"), "commit"),
    ("GET", re.compile(rf"{_API_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?$"), "tree"),
    ("GET", re.compile(rf"{_API_REPO}(?:/revision/(?P<rev>[^/]+))?$"), "repo_info"),
    ("GET", re.compile(rf"{_API_REPO}/xet-write-token/.*$"), "xet"),
    ("POST", re.compile(rf"^/(?:(?P<prefix>datasets|spaces)/)?{_REPO}\.git/info/lfs/objects/batch$"), "lfs_batch"),
    ("PUT", re.compile(r"^/lfs-storage/(?P<oid>[0-9a-f]{64})$"), "lfs_put"),
    ("POST", re.compile(rf"^/lfs-verify/{_TYPES}/{_REPO}$"), "lfs_verify"),
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in saw it (tests check what the client sent)."""

    method: str
    path: str
    authorization: str | None


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    lfs: bool
    git_oid: str


@dataclass(frozen=True)
class CommitRecord:
    oid: str
    summary: str
    added: tuple[str, ...]
    deleted: tuple[str, ...]


@dataclass
class _Repo:
    repo_type: str
    repo_id: str
    private: bool
    folder: Path
    files: dict[str, StoredFile] = field(default_factory=dict)
    commits: list[CommitRecord] = field(default_factory=list)

    @property
    def head(self) -> str:
        return self.commits[-1].oid


class HubError(Exception):
    """An error answer: HTTP status, message, and the ``X-Error-Code`` huggingface_hub maps to exceptions."""

    def __init__(self, status: int, message: str, code: str | None = None, payload: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.payload = status, message, code, payload or {}


def git_blob_oid(data: bytes) -> str:
    """The git object id of a blob: what the Hub reports as a regular file's ``oid``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def _safe_repo_path(path: str) -> str:
    """A committed path, refused if it could escape the repo folder or touch git internals."""
    pure = PurePosixPath(path)
    if not path or "\\" in path or pure.is_absolute() or ".." in pure.parts or pure.parts[0] == ".git":
        raise HubError(400, f"invalid path in repo: {path!r}")
    return pure.as_posix()


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


class HubStandIn:
    """The stand-in Hub: start it (or use it as a context manager), point ``HfApi(endpoint=…)`` at it.

    ``token``: when set, every API and LFS-batch request must carry ``Authorization: Bearer <token>``.
    ``lfs_uploads``: answer ``lfs`` for binary or large files (needs Xet disabled client-side).
    """

    def __init__(self, root: Path, *, token: str | None = None, lfs_uploads: bool = False) -> None:
        self.root = Path(root)
        self.token = token
        self.lfs_uploads = lfs_uploads
        #: Set to N to answer 500 to the N-th commit request (counted from 1 since the server started) and every later one.
        self.fail_commits_from: int | None = None
        self.commit_requests = 0
        self.requests: list[RecordedRequest] = []
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._lock = threading.Lock()
        self._secret = secrets.token_bytes(16)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> HubStandIn:
        self._server = _Server(("127.0.0.1", 0), _Handler, self)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT_S)
        self._server = self._thread = None

    def __enter__(self) -> HubStandIn:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("the stand-in Hub is not running (call start())")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------ inspection (for tests)

    def repo_folder(self, repo_id: str, repo_type: str = "dataset") -> Path:
        return self.root / f"{repo_type}s" / repo_id

    def commits(self, repo_id: str, repo_type: str = "dataset") -> list[CommitRecord]:
        with self._lock:
            return list(self._repo(repo_type, repo_id).commits)

    def is_private(self, repo_id: str, repo_type: str = "dataset") -> bool:
        with self._lock:
            return self._repo(repo_type, repo_id).private

    def stored_as_lfs(self, repo_id: str, repo_type: str = "dataset") -> set[str]:
        with self._lock:
            return {path for path, stored in self._repo(repo_type, repo_id).files.items() if stored.lfs}

    # ------------------------------------------------------------------ dispatch

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request: ``(status, headers, body)``."""
        authorization = headers.get("authorization")
        with self._lock:
            self.requests.append(RecordedRequest(method, path, authorization))
        try:
            for route_method, pattern, name in ROUTES:
                match = pattern.match(path)
                if match and route_method == method:
                    if name not in ("lfs_put",):
                        self._check_auth(authorization)
                    return getattr(self, f"_{name}")(match.groupdict(), query, body)
            raise HubError(404, f"the stand-in Hub has no route for {method} {path}")
        except HubError as error:
            extra = {"X-Error-Message": error.message}
            if error.code:
                extra["X-Error-Code"] = error.code
            return _json(error.status, {"error": error.message, **error.payload}, extra)

    def _check_auth(self, authorization: str | None) -> None:
        if self.token is None:
            return
        if authorization is None:
            raise HubError(401, "Unauthorized: no Authorization header")
        if not hmac.compare_digest(authorization, f"Bearer {self.token}"):
            raise HubError(401, "Invalid credentials in Authorization header")

    def _repo(self, repo_type: str, repo_id: str) -> _Repo:
        repo = self._repos.get((repo_type, repo_id))
        if repo is None:
            raise HubError(404, f"Repository Not Found: {repo_type} {repo_id}", "RepoNotFound")
        return repo

    def _repo_at(self, params: dict[str, str | None]) -> _Repo:
        repo_type = REPO_TYPE_PATHS[params["type"] or ""]
        repo = self._repo(repo_type, f"{params['ns']}/{params['name']}")
        revision = unquote(params.get("rev") or DEFAULT_BRANCH)
        if revision != DEFAULT_BRANCH:
            raise HubError(404, f"Revision Not Found: {revision} (the stand-in has only {DEFAULT_BRANCH})", "RevisionNotFound")
        return repo

    # ------------------------------------------------------------------ repos

    def _create_repo(self, params: dict, query: dict, body: bytes) -> tuple[int, dict[str, str], bytes]:
        payload = _json_body(body)
        name, namespace = payload.get("name"), payload.get("organization")
        repo_type = payload.get("type") or "model"
        if not name or not namespace:
            raise HubError(400, "the stand-in needs a 'namespace/name' repo id")
        if repo_type not in URL_PREFIXES:
            raise HubError(400, f"unknown repo type {repo_type!r}")
        repo_id = f"{namespace}/{name}"
        url = f"{self.endpoint}/{URL_PREFIXES[repo_type]}{repo_id}"
        private = payload.get("private") is True or payload.get("visibility") == "private"
        with self._lock:
            if (repo_type, repo_id) in self._repos:
                # The Hub's conflict answer carries the url: create_repo(exist_ok=True) returns it.
                raise HubError(409, f"You already created this {repo_type} repo", payload={"url": url})
            repo = _Repo(repo_type, repo_id, private, self.repo_folder(repo_id, repo_type))
            self._repos[repo_type, repo_id] = repo
            self._apply(repo, "initial commit", {".gitattributes": (INITIAL_GITATTRIBUTES.encode(), False)}, [])
        return _json(200, {"url": url, "name": repo_id, "id": repo_id})

    def _validate_yaml(self, params: dict, query: dict, body: bytes) -> tuple[int, dict[str, str], bytes]:
        content = str(_json_body(body).get("content", ""))
        lines = content.splitlines()
        if lines and lines[0].strip() == "---":
            end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
            if end is None:
                return _json(400, {"errors": [{"message": "README.md metadata: no closing '---'"}]})
            try:
                metadata = yaml.safe_load("\n".join(lines[1:end]))
            except yaml.YAMLError as error:
                return _json(400, {"errors": [{"message": f"README.md metadata is not valid YAML: {error}"}]})
            if metadata is not None and not isinstance(metadata, dict):
                return _json(400, {"errors": [{"message": "README.md metadata must be a mapping"}]})
        return _json(200, {"errors": [], "warnings": []})

    def _repo_info(self, params: dict, query: dict, body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            repo = self._repo_at(params)
            siblings = [{"rfilename": path} for path in sorted(repo.files)]
            return _json(200, {"id": repo.repo_id, "sha": repo.head, "private": repo.private, "siblings": siblings})

    def _tree(self, params: dict, query: dict, body: bytes) -> tuple[int, dict[str, str], bytes]:
        recursive = query.get("recursive", ["false"])[0].lower() == "true"
        prefix = (params.get("path") or "").strip("/")
        with self._lock:
            repo = self._repo_at(params)
            if prefix and prefix not in repo.files and not any(p.startswith(prefix + "/") for p in repo.files):
                raise HubError(404, f"Entry Not Found: {prefix}", "EntryNotFound")
            entries: dict[str, dict[str, Any]] = {}
            for path, stored in sorted(repo.files.items()):
                if prefix and not path.startswith(prefix + "/"):
                    continue
                parts = PurePosixPath(path[len(prefix) + 1 :] if prefix else path).parts
                folders = [PurePosixPath(prefix, *parts[: i + 1]).as_posix() for i in range(len(parts) - 1)]
                for folder in folders if recursive else folders[:1]:
                    entries.setdefault(folder, {"type": "directory", "oid": git_blob_oid(folder.encode()), "size": 0, "path": folder})
                if recursive or len(parts) == 1:
                    entries[path] = _tree_entry(path, stored)
        return _json(200, [entries[key] for key in sorted(entries)])

    def _xet(self, params: dict, query: dict, body: bytes) -> tuple[int, dict[str, str], bytes]:
        raise HubError(501, "the stand-in Hub speaks the legacy LFS protocol, not Xet: disable Xet client-side (HF_HUB_DISABLE_XET=1)")

    # ------------------------------------------------------------------ uploads

    def _preupload(self, params: dict, query: dict, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if query.get("create_pr"):
            raise HubError(400, "the stand-in Hub does not support pull requests")
        files = _json_body(body).get("files")
        if not isinstance(files, list):
            raise HubError(400, "preupload: 'files' must be a list")
        answers = []
        with self._lock:
            repo = self._repo_at(params)
            for item in files:
                path = _safe_repo_path(str(item.get("path", "")))
                sample = base64.b64decode(item.get("sample", ""))
                lfs = self.lfs_uploads and (int(item.get("size", 0)) >= LFS_SIZE_THRESHOLD or b"\0" in sample)
                stored = repo.files.get(path)
                oid = None if stored is None else (stored.sha256 if stored.lfs else stored.git_oid)
                answers.append({"path": path, "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
            return _json(200, {"files": answers, "commitOid": repo.head})

    def _lfs_batch(self, params: dict, query: dict, body: bytes) -> tuple[int, dict[str, str], bytes]:
        repo_type = {"datasets": "dataset", "spaces": "space"}.get(params.get("prefix") or "", "model")
        with self._lock:
            self._repo(repo_type, f"{params['ns']}/{params['name']}")
        payload = _json_body(body)
        if payload.get("operation") != "upload":
            raise HubError(400, "the stand-in Hub only accepts LFS uploads")
        objects = []
        for item in payload.get("objects", []):
            oid, size = str(item.get("oid", "")), int(item.get("size", -1))
            answer: dict[str, Any] = {"oid": oid, "size": size}
            stored = self._lfs_object(oid)
            if not (stored.exists() and stored.stat().st_size == size):
                signature = hmac.new(self._secret, f"{oid}:{size}".encode(), "sha256").hexdigest()
                answer["authenticated"] = True
                answer["actions"] = {
                    "upload": {"href": f"{self.endpoint}/lfs-storage/{oid}?size={size}&signature={signature}"},
                    "verify": {"href": f"{self.endpoint}/lfs-verify/{URL_PREFIXES[repo_type] or 'models/'}{params['ns']}/{params['name']}"},
                }
            objects.append(answer)
        return _json(200, {"transfer": "basic", "objects": objects}, {"Content-Type": "application/vnd.git-lfs+json"})

    def _lfs_put(self, params: dict, query: dict, body: bytes) -> tuple[int, dict[str, str], bytes]:
        oid = params["oid"]
        size = query.get("size", [""])[0]
        expected = hmac.new(self._secret, f"{oid}:{size}".encode(), "sha256").hexdigest()
        if not hmac.compare_digest(query.get("signature", [""])[0], expected):
            raise HubError(403, "bad storage signature")
        if len(body) != int(size) or hashlib.sha256(body).hexdigest() != oid:
            raise HubError(400, f"uploaded content does not match oid {oid} / size {size}")
        _write_atomic(self._lfs_object(oid), body)
        return 200, {"ETag": f'"{hashlib.md5(body).hexdigest()}"', "Content-Length": "0"}, b""

    def _lfs_verify(self, params: dict, query: dict, body: bytes) -> tuple[int, dict[str, str], bytes]:
        payload = _json_body(body)
        stored = self._lfs_object(str(payload.get("oid", "")))
        if not stored.exists() or stored.stat().st_size != payload.get("size"):
            raise HubError(404, f"LFS object {payload.get('oid')} was not uploaded")
        return _json(200, {"success": True})

    def _lfs_object(self, oid: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", oid):
            raise HubError(400, f"invalid LFS oid {oid!r}")
        return self.root / ".lfs-objects" / oid

    # ------------------------------------------------------------------ commits

    def _commit(self, params: dict, query: dict, body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.commit_requests += 1
            if self.fail_commits_from is not None and self.commit_requests >= self.fail_commits_from:
                raise HubError(500, f"the stand-in Hub failed commit request {self.commit_requests} on purpose")
        if query.get("create_pr"):
            raise HubError(400, "the stand-in Hub does not support pull requests")
        try:
            items = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise HubError(400, f"commit payload is not NDJSON: {error}") from error
        if not items or items[0].get("key") != "header":
            raise HubError(400, "commit payload must start with a header line")
        header = items[0].get("value", {})
        additions: dict[str, tuple[bytes, bool]] = {}
        deletions: list[tuple[str, bool]] = []
        for item in items[1:]:
            key, value = item.get("key"), item.get("value", {})
            path = _safe_repo_path(str(value.get("path", "")).rstrip("/") if key == "deletedFolder" else str(value.get("path", "")))
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HubError(400, f"{path}: unsupported encoding {value.get('encoding')!r}")
                additions[path] = (base64.b64decode(value.get("content", ""), validate=True), False)
            elif key == "lfsFile":
                stored = self._lfs_object(str(value.get("oid", "")))
                if not stored.exists():
                    raise HubError(400, f"{path}: LFS object {value.get('oid')} was never uploaded")
                additions[path] = (stored.read_bytes(), True)
            elif key in ("deletedFile", "deletedFolder"):
                deletions.append((path, key == "deletedFolder"))
            else:
                raise HubError(400, f"unknown commit operation {key!r}")
        with self._lock:
            repo = self._repo_at(params)
            parent = header.get("parentCommit")
            if parent and not repo.head.startswith(parent):
                raise HubError(412, f"parent commit {parent} is not the head of {DEFAULT_BRANCH} ({repo.head})")
            record = self._apply(repo, str(header.get("summary", "")), additions, deletions)
            url = f"{self.endpoint}/{URL_PREFIXES[repo.repo_type]}{repo.repo_id}/commit/{record.oid}"
        return _json(200, {"success": True, "commitOid": record.oid, "commitUrl": url, "hookOutput": "", "pullRequestUrl": None})

    def _apply(
        self, repo: _Repo, summary: str, additions: dict[str, tuple[bytes, bool]], deletions: list[tuple[str, bool]]
    ) -> CommitRecord:
        """Apply one commit (caller holds the lock): every deletion must hit something, or nothing changes."""
        deleted: list[str] = []
        for path, is_folder in deletions:
            hits = [p for p in repo.files if p.startswith(path + "/")] if is_folder else [p for p in repo.files if p == path]
            if not hits:
                raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
            deleted += hits
        for path in deleted:
            (repo.folder / path).unlink()
            del repo.files[path]
            _prune_empty_parents(repo.folder / path, repo.folder)
        for path, (data, lfs) in sorted(additions.items()):
            _write_atomic(repo.folder / path, data)
            sha256 = hashlib.sha256(data).hexdigest()
            git_oid = git_blob_oid(lfs_pointer(sha256, len(data)) if lfs else data)
            repo.files[path] = StoredFile(sha256=sha256, size=len(data), lfs=lfs, git_oid=git_oid)
        parent = repo.commits[-1].oid if repo.commits else ""
        tree = "\n".join(f"{path} {stored.sha256}" for path, stored in sorted(repo.files.items()))
        oid = hashlib.sha1(f"{parent}\n{summary}\n{tree}".encode()).hexdigest()
        record = CommitRecord(oid=oid, summary=summary, added=tuple(sorted(additions)), deleted=tuple(sorted(deleted)))
        repo.commits.append(record)
        return record


def _tree_entry(path: str, stored: StoredFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": "file", "oid": stored.git_oid, "size": stored.size, "path": path}
    if stored.lfs:
        entry["lfs"] = {"oid": stored.sha256, "size": stored.size, "pointerSize": len(lfs_pointer(stored.sha256, stored.size))}
    return entry


def _prune_empty_parents(path: Path, stop: Path) -> None:
    parent = path.parent
    while parent != stop and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body or b"{}")
    except json.JSONDecodeError as error:
        raise HubError(400, f"request body is not JSON: {error}") from error
    if not isinstance(payload, dict):
        raise HubError(400, "request body must be a JSON object")
    return payload


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], hub: HubStandIn) -> None:
        self.hub = hub
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    timeout = SOCKET_TIMEOUT_S
    server: _Server

    def _serve(self) -> None:
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except HubError as error:
            self._send(*_json(error.status, {"error": error.message}, {"X-Error-Message": error.message}))
            return
        headers = {key.lower(): value for key, value in self.headers.items()}
        self._send(*self.server.hub.handle(self.command, unquote(url.path), parse_qs(url.query), headers, body))

    do_GET = do_POST = do_PUT = _serve

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise HubError(413, f"request body over {MAX_BODY_BYTES} bytes")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise HubError(413, f"request body over {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key != "Content-Length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: tests read ``HubStandIn.requests`` instead of stderr."""
