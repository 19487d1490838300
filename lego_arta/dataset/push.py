"""``lego-arta push``: upload a verified build folder to the Hugging Face Hub as a dataset repo.

A push is refused unless the folder is what ``lego-arta build`` wrote: every file listed in
``manifest.json`` still has its recorded size and sha256, and the README's ``configs:`` name
shards that exist. Files go up with ``HfApi.create_commit`` in batches, and the card
(README.md + manifest.json) in the last one, so the Hub never shows a card whose shards are missing.
When the repo already holds a card, the files that card's readers load (the configs' shards) travel
with the new card in that last commit too: a push that fails on any commit leaves ``load_dataset``
reading the previous version whole, never an old card over new shards. Files already on the Hub
with the same content are not sent again (nor are stored LFS objects), so re-running an interrupted
push finishes it. Files of an older build under the same top-level folders are deleted in the last
commit: the card's ``<config>/<split>-*`` globs would otherwise load stale shards too.

Not run as a doctest: it needs the Hub.

>>> push_dataset(Path("out/built"), "my-org/lego-arta").commit_url      # doctest: +SKIP
'https://huggingface.co/datasets/my-org/lego-arta/commit/3f0c…'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from tqdm import tqdm

from lego_arta.checksum import sha256_file
from lego_arta.dataset.layout import LLAVA_DIR, MANIFEST, README

#: The card files: committed last, so the configs they declare point at shards already on the Hub.
CARD_FILES: tuple[str, ...] = (README, MANIFEST)
REPO_TYPE = "dataset"
DEFAULT_COMMIT_MESSAGE = "Upload LEGO-ARTA dataset build"
#: Files per commit: the Hub refuses huge commits; huggingface_hub's own folder upload uses 20 to 1,000.
MAX_FILES_PER_COMMIT = 500
#: Bytes per commit: bounds what a failed commit has to send again (a study build is ~12 GB).
MAX_BYTES_PER_COMMIT = 2 * 1024**3
#: How many verification problems one error message lists before summarising the rest.
MAX_LISTED_PROBLEMS = 10
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BuiltFolderError(ValueError):
    """The folder is not a complete, unmodified ``lego-arta build`` output: nothing was uploaded."""


@dataclass(frozen=True)
class LocalFile:
    """One file to upload: its repo path (POSIX, relative) and the checksum the manifest vouches for."""

    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class VerifiedFolder:
    """A build folder that passed :func:`verify_built_folder`."""

    root: Path
    files: tuple[LocalFile, ...]
    configs: tuple[str, ...]
    excluded: tuple[str, ...] = ()
    unlisted: tuple[str, ...] = ()
    #: The files the card's configs load (what a reader of the card reads).
    data_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemoteFile:
    """A file already on the Hub: ``sha256`` for LFS/Xet files, the git blob id for regular ones."""

    path: str
    size: int
    git_oid: str
    sha256: str | None = None


@dataclass(frozen=True)
class CommitBatch:
    files: tuple[LocalFile, ...]
    deletions: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class CommitPlan:
    batches: tuple[CommitBatch, ...]
    unchanged: tuple[str, ...]


@dataclass(frozen=True)
class PushResult:
    """What a push did. ``commit_*`` is the last commit, None when the Hub already held everything."""

    repo_id: str
    repo_url: str
    commit_url: str | None
    commit_oid: str | None
    commits: int
    uploaded: tuple[str, ...]
    bytes_uploaded: int
    unchanged: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    unlisted: tuple[str, ...] = ()
    commit_oids: tuple[str, ...] = field(default=(), repr=False)

    @property
    def files_uploaded(self) -> int:
        return len(self.uploaded)


# ---------------------------------------------------------------------------- reading the card and manifest


def _safe_relative(path: str, *, source: str, what: str) -> str:
    pure = PurePosixPath(path)
    if not path or "\\" in path or pure.is_absolute() or ".." in pure.parts:
        raise BuiltFolderError(f"{source}: {what} {path!r} must be a relative path inside the folder")
    return pure.as_posix()


def _front_matter(text: str, *, source: str) -> dict[str, Any]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise BuiltFolderError(f"{source}: no YAML front matter (expected a first line '---')")
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None)
    if end is None:
        raise BuiltFolderError(f"{source}: the YAML front matter has no closing '---'")
    try:
        metadata = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as error:
        raise BuiltFolderError(f"{source}: the YAML front matter does not parse: {error}") from error
    if not isinstance(metadata, dict):
        raise BuiltFolderError(f"{source}: the YAML front matter must be a mapping")
    return metadata


def _patterns(data_files: Any, *, source: str, config: str) -> list[str]:
    """Every path pattern of a ``data_files`` value, in each form ``datasets`` accepts."""
    if isinstance(data_files, str):
        return [data_files]
    if isinstance(data_files, Mapping):
        return [p for value in data_files.values() for p in _patterns(value, source=source, config=config)]
    if isinstance(data_files, list) and data_files:
        patterns = []
        for entry in data_files:
            if isinstance(entry, Mapping):
                if "path" not in entry:
                    raise BuiltFolderError(f"{source}: config {config!r}: a data_files entry has no 'path'")
                patterns += _patterns(entry["path"], source=source, config=config)
            else:
                patterns += _patterns(entry, source=source, config=config)
        return patterns
    raise BuiltFolderError(f"{source}: config {config!r}: data_files must be a path, a list or a split mapping, got {data_files!r}")


def read_card_configs(text: str, *, source: str = README) -> dict[str, tuple[str, ...]]:
    """The ``configs:`` of a dataset card: config name → its ``data_files`` path patterns.

    >>> read_card_configs("---\\nconfigs:\\n- config_name: state\\n  data_files:\\n  - split: test\\n    path: state/test-*\\n---\\n")
    {'state': ('state/test-*',)}
    """
    configs = _front_matter(text, source=source).get("configs")
    if not isinstance(configs, list) or not configs:
        raise BuiltFolderError(f"{source}: the front matter needs a non-empty 'configs:' list (config_name + data_files)")
    result: dict[str, tuple[str, ...]] = {}
    for index, entry in enumerate(configs):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("config_name"), str) or not entry["config_name"]:
            raise BuiltFolderError(f"{source}: configs[{index}] needs a 'config_name' string")
        name = entry["config_name"]
        if name in result:
            raise BuiltFolderError(f"{source}: config {name!r} is declared twice")
        if "data_files" not in entry:
            raise BuiltFolderError(f"{source}: config {name!r} has no 'data_files'")
        patterns = _patterns(entry["data_files"], source=source, config=name)
        if not all(isinstance(p, str) for p in patterns):
            raise BuiltFolderError(f"{source}: config {name!r}: data_files paths must be strings")
        result[name] = tuple(_safe_relative(p, source=source, what=f"config {name!r} data_files path") for p in patterns)
    return result


def read_manifest_files(text: str, *, source: str = MANIFEST) -> dict[str, tuple[str, int]]:
    """The ``files`` section of a build manifest: repo path → (sha256 hex, size in bytes)."""
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as error:
        raise BuiltFolderError(f"{source}: not valid JSON ({error})") from error
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise BuiltFolderError(f"{source}: needs a non-empty 'files' object of {{path: {{sha256, bytes}}}}")
    result: dict[str, tuple[str, int]] = {}
    for path, entry in files.items():
        rel = _safe_relative(path, source=source, what="file")
        sha256 = entry.get("sha256") if isinstance(entry, dict) else None
        size = entry.get("bytes") if isinstance(entry, dict) else None
        if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
            raise BuiltFolderError(f"{source}: files[{path!r}].sha256 must be 64 lowercase hex digits")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BuiltFolderError(f"{source}: files[{path!r}].bytes must be a non-negative integer")
        if rel == MANIFEST:
            raise BuiltFolderError(f"{source}: must not list itself")
        result[rel] = (sha256, size)
    return result


# ---------------------------------------------------------------------------- verification


def _root_scripts(paths: Iterable[str]) -> list[str]:
    return sorted(p for p in paths if "/" not in p and p.endswith(".py"))


def _raise_problems(folder: Path, problems: Sequence[str]) -> None:
    if not problems:
        return
    listed = "\n".join(f"  - {problem}" for problem in problems[:MAX_LISTED_PROBLEMS])
    more = f"\n  … and {len(problems) - MAX_LISTED_PROBLEMS} more" if len(problems) > MAX_LISTED_PROBLEMS else ""
    raise BuiltFolderError(
        f"{folder} is not a complete, unmodified build ({len(problems)} problem(s)); rebuild it with "
        f"`lego-arta build` before pushing:\n{listed}{more}"
    )


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise BuiltFolderError(f"{path}: not UTF-8 text ({error}); the file is corrupted") from error


def _check_file(root: Path, path: str, sha256: str, size: int, bar: tqdm) -> str | None:
    """The problem with one listed file, or None when it has the manifest's size and sha256."""
    target = root / path
    if not target.is_file():
        return f"{path}: listed in {MANIFEST} but missing (partial or moved build)"
    actual_size = target.stat().st_size
    if actual_size != size:
        return f"{path}: {actual_size} bytes, {MANIFEST} says {size} (truncated or partially written)"
    actual = sha256_file(target, bar)
    if actual != sha256:
        return f"{path}: sha256 {actual[:12]}… differs from {MANIFEST}'s {sha256[:12]}… (corrupted or edited)"
    return None


def verify_built_folder(folder: Path, *, include_llava: bool = True, progress: bool = True) -> VerifiedFolder:
    """Check a build folder against its manifest and card; return the files to upload.

    Refuses (``BuiltFolderError``) a folder with a ``.py`` at its root (the Hub and ``datasets`` ≥ 4
    would treat the repo as a script dataset and refuse to load it), a missing, truncated or changed
    file, or a card config whose ``data_files`` match nothing. Files the manifest does not list are
    not uploaded and are reported in ``unlisted``; ``llava/`` is left out (``excluded``) on request.
    """
    root = Path(folder)
    if not root.is_dir():
        raise BuiltFolderError(f"{root}: not a folder")
    on_disk = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    scripts = _root_scripts(on_disk)
    if scripts:
        raise BuiltFolderError(
            f"{root / scripts[0]}: a .py file at the repo root makes the Hub and datasets>=4 treat the repo as a "
            "script dataset ('Dataset scripts are no longer supported'); remove it from the folder before pushing"
        )
    if not (root / MANIFEST).is_file():
        raise BuiltFolderError(f"{root / MANIFEST}: missing; is {root} a folder written by `lego-arta build`?")
    manifest = read_manifest_files(_read_text(root / MANIFEST), source=str(root / MANIFEST))
    scripts = _root_scripts(manifest)
    if scripts:
        raise BuiltFolderError(f"{root / MANIFEST}: lists {scripts[0]}, a .py at the repo root (the Hub's script check fires)")
    if README not in manifest:
        raise BuiltFolderError(f"{root / MANIFEST}: does not list {README}, so the card cannot be verified")

    selected = {path: entry for path, entry in manifest.items() if include_llava or PurePosixPath(path).parts[0] != LLAVA_DIR}
    problems: list[str] = []
    files: list[LocalFile] = []
    with tqdm(total=sum(size for _, size in selected.values()), unit="B", unit_scale=True, desc="verify", disable=not progress) as bar:
        for path, (sha256, size) in sorted(selected.items()):
            problem = _check_file(root, path, sha256, size, bar)
            if problem is None:
                files.append(LocalFile(path, sha256, size))
            else:
                problems.append(problem)
    _raise_problems(root, problems)

    configs = read_card_configs(_read_text(root / README), source=str(root / README))
    data_files: set[str] = set()
    for name, patterns in configs.items():
        for pattern in patterns:
            matched = sorted(p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_file())
            data_files.update(matched)
            if not matched:
                problems.append(f"{README}: config {name!r} data_files {pattern!r} matches no file")
            problems += [f"{path}: data file of config {name!r} not listed in {MANIFEST}" for path in matched if path not in selected]
    _raise_problems(root, problems)

    manifest_path = root / MANIFEST
    files.append(LocalFile(MANIFEST, sha256_file(manifest_path), manifest_path.stat().st_size))
    return VerifiedFolder(
        root=root,
        files=tuple(sorted(files, key=lambda f: f.path)),
        configs=tuple(configs),
        excluded=tuple(sorted(set(manifest) - set(selected))),
        unlisted=tuple(p for p in on_disk if p not in manifest and p != MANIFEST),
        data_files=tuple(sorted(data_files)),
    )


# ---------------------------------------------------------------------------- planning


def plan_commits(
    files: Sequence[LocalFile],
    remote_paths: Iterable[str],
    unchanged: Iterable[str] = (),
    *,
    max_files: int = MAX_FILES_PER_COMMIT,
    max_bytes: int = MAX_BYTES_PER_COMMIT,
    with_card: Iterable[str] = (),
) -> CommitPlan:
    """Split the files to send into commits: data first, the card files in the last commit.

    Remote files under a top-level folder this push writes, and absent from it, are stale shards of
    an older build: they are deleted in the last commit. Files in ``unchanged`` are not sent. A file
    larger than ``max_bytes`` gets a commit of its own; the card files always travel together, and
    so do the files in ``with_card`` (the shards a card already on the Hub is read with), whatever
    the limits: changing them before the card would show readers an old card over new shards.
    """
    if max_files < len(CARD_FILES) or max_bytes < 1:
        raise ValueError(f"max_files must be ≥ {len(CARD_FILES)} and max_bytes ≥ 1")
    skip = set(unchanged)
    local = {f.path for f in files}
    managed = {PurePosixPath(p).parts[0] for p in local if "/" in p}
    deletions = tuple(sorted(p for p in remote_paths if p not in local and "/" in p and PurePosixPath(p).parts[0] in managed))
    to_send = [f for f in sorted(files, key=lambda f: f.path) if f.path not in skip]
    last = set(CARD_FILES) | set(with_card)
    card = [f for f in to_send if f.path in last]

    def fits(batch: list[LocalFile], more: list[LocalFile]) -> bool:
        return len(batch) + len(more) <= max_files and sum(f.size for f in batch + more) <= max_bytes

    batches: list[list[LocalFile]] = []
    for item in (f for f in to_send if f.path not in last):
        if batches and fits(batches[-1], [item]):
            batches[-1].append(item)
        else:
            batches.append([item])
    if card:
        if batches and fits(batches[-1], card):
            batches[-1] += card
        else:
            batches.append(card)
    elif deletions and not batches:
        batches.append([])
    plan = tuple(CommitBatch(tuple(batch)) for batch in batches)
    if plan and deletions:
        plan = plan[:-1] + (CommitBatch(plan[-1].files, deletions),)
    return CommitPlan(batches=plan, unchanged=tuple(sorted(skip & local)))


# ---------------------------------------------------------------------------- talking to the Hub


def remote_files(api: Any, repo_id: str, *, revision: str | None = None) -> dict[str, RemoteFile]:
    """The files already in the repo, with what is needed to tell unchanged ones."""
    from huggingface_hub.hf_api import RepoFile

    listing = api.list_repo_tree(repo_id, repo_type=REPO_TYPE, revision=revision, recursive=True)
    return {
        entry.path: RemoteFile(entry.path, entry.size, entry.blob_id, entry.lfs.sha256 if entry.lfs else None)
        for entry in listing
        if isinstance(entry, RepoFile)
    }


def unchanged_files(root: Path, files: Iterable[LocalFile], remote: Mapping[str, RemoteFile]) -> set[str]:
    """Files whose content the Hub already holds at the same path (compared by sha256 or git blob id)."""
    from huggingface_hub.utils.sha import git_hash

    same = set()
    for local in files:
        theirs = remote.get(local.path)
        if theirs is None or theirs.size != local.size:
            continue
        if theirs.sha256 is not None:
            if theirs.sha256 == local.sha256:
                same.add(local.path)
        elif git_hash((root / local.path).read_bytes()) == theirs.git_oid:
            same.add(local.path)
    return same


def _commit_message(message: str, index: int, total: int) -> str:
    return message if total == 1 else f"{message} (part {index + 1} of {total})"


def push_dataset(
    folder: Path,
    repo_id: str,
    *,
    token: str | None = None,
    endpoint: str | None = None,
    private: bool = False,
    revision: str | None = None,
    include_llava: bool = True,
    commit_message: str | None = None,
    progress: bool = True,
    max_files_per_commit: int = MAX_FILES_PER_COMMIT,
    max_bytes_per_commit: int = MAX_BYTES_PER_COMMIT,
) -> PushResult:
    """Verify ``folder``, create the dataset repo if needed, and commit the build to it.

    ``token``/``endpoint`` default to huggingface_hub's own (``HF_TOKEN`` or the saved login,
    ``HF_ENDPOINT``). ``private`` applies when the repo is created; an existing repo keeps its
    visibility. ``include_llava=False`` leaves ``llava/`` out (and any ``llava/`` already on the Hub alone).
    """
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi

    verified = verify_built_folder(folder, include_llava=include_llava, progress=progress)
    api = HfApi(endpoint=endpoint, token=token)
    # None, not False: an account whose repos default to private keeps that default.
    repo_url = api.create_repo(repo_id, repo_type=REPO_TYPE, exist_ok=True, private=True if private else None)
    repo_id = repo_url.repo_id or repo_id
    remote = remote_files(api, repo_id, revision=revision)
    plan = plan_commits(
        verified.files,
        remote,
        unchanged_files(verified.root, verified.files, remote),
        max_files=max_files_per_commit,
        max_bytes=max_bytes_per_commit,
        with_card=verified.data_files if README in remote else (),  # a card on the Hub: its readers' shards change with it
    )
    message = commit_message or DEFAULT_COMMIT_MESSAGE
    infos = []
    for index, batch in enumerate(tqdm(plan.batches, desc="commits", unit="commit", disable=not progress or len(plan.batches) < 2)):
        operations: list[Any] = [CommitOperationDelete(path_in_repo=path) for path in batch.deletions]
        operations += [CommitOperationAdd(path_in_repo=f.path, path_or_fileobj=str(verified.root / f.path)) for f in batch.files]
        infos.append(
            api.create_commit(
                repo_id,
                operations,
                commit_message=_commit_message(message, index, len(plan.batches)),
                repo_type=REPO_TYPE,
                revision=revision,
            )
        )
    sent = tuple(f.path for batch in plan.batches for f in batch.files)
    return PushResult(
        repo_id=repo_id,
        repo_url=str(repo_url),
        commit_url=infos[-1].commit_url if infos else None,
        commit_oid=infos[-1].oid if infos else None,
        commits=len(infos),
        uploaded=sent,
        bytes_uploaded=sum(batch.size for batch in plan.batches),
        unchanged=plan.unchanged,
        deleted=tuple(path for batch in plan.batches for path in batch.deletions),
        excluded=verified.excluded,
        unlisted=verified.unlisted,
        commit_oids=tuple(info.oid for info in infos),
    )


# ---------------------------------------------------------------------------- CLI adapter
