"""``lego-arta push`` against a loopback stand-in of the Hub: the real ``HfApi`` client, real HTTP."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.dataset.push import (
    CARD_FILES,
    MAX_FILES_PER_COMMIT,
    BuiltFolderError,
    LocalFile,
    plan_commits,
    push_dataset,
    read_card_configs,
    read_manifest_files,
    verify_built_folder,
)
from tests.support.cli import command
from tests.support.hub_server import HubStandIn

TOKEN = "hf_standin_token_0123456789"
REPO = "lego-org/lego-arta-test"
CONFIGS = ("scene", "object", "state")
SPLITS = ("train", "test")
ROWS_PER_SPLIT = {"train": 3, "test": 2}
IMAGE_SIZE = (12, 8)
#: Any request that ignores the endpoint it was given lands here and is refused at once.
UNREACHABLE_ENDPOINT = "http://127.0.0.1:9"


# ---------------------------------------------------------------------------- the built folder under test


def _png(rng: np.random.Generator) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    pixels = rng.integers(0, 256, size=(IMAGE_SIZE[1], IMAGE_SIZE[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _checksums(root: Path) -> dict[str, dict[str, object]]:
    return {
        p.relative_to(root).as_posix(): {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "bytes": p.stat().st_size}
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def _write_card(root: Path) -> None:
    configs = [{"config_name": c, "data_files": [{"split": s, "path": f"{c}/{s}-*"} for s in SPLITS]} for c in CONFIGS]
    info = [
        {
            "config_name": c,
            "features": [{"name": n, "dtype": "image" if n == "image" else "string"} for n in ("id", "image", "query", "answer")],
            "splits": [{"name": s, "num_examples": ROWS_PER_SPLIT[s]} for s in SPLITS],
        }
        for c in CONFIGS
    ]
    front = yaml.safe_dump({"configs": configs, "dataset_info": info}, sort_keys=False)
    (root / "README.md").write_text(f"---\n{front}---\n\n# LEGO-ARTA (push test build)\n", encoding="utf-8")


def write_manifest(root: Path) -> None:
    """``counts`` and ``files`` as ``lego-arta build`` writes them (the only manifest keys push tests read)."""
    counts = {config: dict(ROWS_PER_SPLIT) for config in CONFIGS}
    manifest = {"counts": counts, "files": _checksums(root)}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def write_built_folder(root: Path, seed: int = 0) -> Path:
    """A small folder in the layout ``lego-arta build`` writes (Hub Parquet + card, LLaVA, manifest)."""
    from datasets import Dataset, Features, Image, Value

    rng = np.random.default_rng(seed)
    features = Features({"id": Value("string"), "image": Image(), "query": Value("string"), "answer": Value("string")})
    llava: dict[str, list[dict[str, object]]] = {s: [] for s in SPLITS}
    (root / "llava" / "images").mkdir(parents=True)
    for config in CONFIGS:
        for split in SPLITS:
            ids = [f"{config}{split}{i}" for i in range(ROWS_PER_SPLIT[split])]
            images = [_png(rng) for _ in ids]
            rows = {
                "id": ids,
                "image": [{"bytes": b, "path": None} for b in images],
                "query": [f"[{config}] q{i}" for i in range(len(ids))],
                "answer": ["Yes."] * len(ids),
            }
            (root / config).mkdir(exist_ok=True)
            Dataset.from_dict(rows, features=features).to_parquet(str(root / config / f"{split}-00000-of-00001.parquet"))
            for row_id, image in zip(ids, images):
                (root / "llava" / "images" / f"{row_id}.png").write_bytes(image)
                llava[split].append(
                    {
                        "id": row_id,
                        "image": f"images/{row_id}.png",
                        "conversations": [{"from": "human", "value": "<image>\nq"}, {"from": "gpt", "value": "Yes."}],
                    }
                )
    for split, entries in llava.items():
        (root / "llava" / f"{split}.json").write_text(json.dumps(entries, indent=1) + "\n")
    _write_card(root)
    write_manifest(root)
    return root


@pytest.fixture(scope="module")
def built_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder pushed by these tests (read-only: ``built`` gives a copy to change).

    Hand-made and tiny on purpose: the real shared build (``built_dataset``) holds thousands of
    files, which makes every push about ten times slower; one test pushes the real build instead.
    The tests rely only on the layout (card ``configs:``, ``manifest.json`` ``files`` and
    ``counts``, Parquet shards, ``llava/``).
    """
    return write_built_folder(tmp_path_factory.mktemp("build") / "lego-arta-built")


@pytest.fixture
def built(built_folder: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built_folder, tmp_path / "built"))


def _first(root: Path, pattern: str) -> str:
    """The first file matching ``pattern``: tests name files by role, not by the fixture's names."""
    return min(p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_file())


def _folder_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------- the stand-in Hub


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Let huggingface_hub talk HTTP (the suite runs offline), but only to the endpoints tests give it."""
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)  # else the User-Agent fetches a registry from ENDPOINT
    monkeypatch.setattr(constants, "ENDPOINT", UNREACHABLE_ENDPOINT)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-saved-token"))  # never a developer's login


@pytest.fixture
def hub(tmp_path: Path, online: None) -> Iterator[HubStandIn]:
    with HubStandIn(tmp_path / "hub", token=TOKEN) as server:
        yield server


def _push(folder: Path, hub: HubStandIn, **options: object):
    return push_dataset(folder, REPO, token=TOKEN, endpoint=hub.endpoint, progress=False, **options)


# ---------------------------------------------------------------------------- pushing


def test_push_commits_every_file_byte_for_byte_in_one_commit(built_folder: Path, hub: HubStandIn) -> None:
    result = _push(built_folder, hub, private=True)

    local = _folder_files(built_folder)
    remote = _folder_files(hub.repo_folder(REPO))
    assert remote.pop(".gitattributes")  # the Hub's own initial commit
    assert remote == local
    assert result.commits == 1 and set(result.uploaded) == set(local)
    assert result.bytes_uploaded == sum(len(data) for data in local.values())
    assert result.commit_oid == hub.commits(REPO)[-1].oid and result.commit_url.endswith(result.commit_oid)
    assert result.unchanged == result.deleted == result.unlisted == ()
    assert hub.is_private(REPO)


def test_every_request_carries_the_token(built_folder: Path, hub: HubStandIn) -> None:
    _push(built_folder, hub)
    assert hub.requests
    assert {request.authorization for request in hub.requests} == {f"Bearer {TOKEN}"}


def test_a_wrong_token_is_refused_by_the_hub_and_nothing_lands(built_folder: Path, tmp_path: Path, online: None) -> None:
    from huggingface_hub.errors import HfHubHTTPError

    with HubStandIn(tmp_path / "hub", token=TOKEN) as hub:
        with pytest.raises(HfHubHTTPError) as caught:
            push_dataset(built_folder, REPO, token="hf_wrong", endpoint=hub.endpoint, progress=False)
        assert caught.value.response.status_code == 401
        assert not hub.repo_folder(REPO).exists()


@pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # huggingface_hub's own LFS PUT
def test_push_through_the_legacy_lfs_protocol(built_folder: Path, tmp_path: Path, online: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Binary files go through LFS (batch, PUT, verify) when Xet is off; the stand-in does not speak Xet."""
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    with HubStandIn(tmp_path / "hub", token=TOKEN, lfs_uploads=True) as hub:
        _push(built_folder, hub)
        remote = _folder_files(hub.repo_folder(REPO))
        lfs = hub.stored_as_lfs(REPO)
        puts = [r for r in hub.requests if r.method == "PUT"]
    remote.pop(".gitattributes")
    assert remote == _folder_files(built_folder)
    binary = {p for p in remote if p.endswith((".parquet", ".png"))}
    assert lfs == binary and len(puts) == len(binary)
    assert all(r.authorization is None for r in puts)  # storage URLs are signed, the token stays with the Hub


def _assert_pushed_repo_loads_offline(built_folder: Path, hub: HubStandIn, tmp_path: Path) -> None:
    script = (
        "import json, sys, datasets\n"
        "out = {}\n"
        "for config in sys.argv[2:]:\n"
        "    d = datasets.load_dataset(sys.argv[1], config)\n"
        "    out[config] = {split: [d[split].num_rows, min(d[split][0]['image'].size) > 0] for split in d}\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    configs = sorted(json.loads((built_folder / "manifest.json").read_text())["counts"])
    done = subprocess.run(
        [sys.executable, "-c", script, str(hub.repo_folder(REPO)), *configs], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    counts = json.loads((built_folder / "manifest.json").read_text())["counts"]
    assert loaded == {config: {split: [rows, True] for split, rows in splits.items() if rows} for config, splits in counts.items()}


@pytest.mark.slow
def test_the_pushed_repo_loads_offline_with_datasets(built_folder: Path, hub: HubStandIn, tmp_path: Path) -> None:
    _push(built_folder, hub)
    _assert_pushed_repo_loads_offline(built_folder, hub, tmp_path)


@pytest.mark.slow
def test_a_real_build_is_pushed_whole_and_loads_back_offline(built_dataset: Path, hub: HubStandIn, tmp_path: Path) -> None:
    """The shared real ``lego-arta build`` (thousands of files, full manifest): verified, pushed in
    several commits, loadable. The other tests push the small hand-made folder above to stay fast."""
    result = _push(built_dataset, hub)
    local = _folder_files(built_dataset)
    remote = _folder_files(hub.repo_folder(REPO))
    remote.pop(".gitattributes")
    assert remote == local and set(result.uploaded) == set(local) and result.unlisted == ()
    assert result.commits == -(-len(local) // MAX_FILES_PER_COMMIT)
    _assert_pushed_repo_loads_offline(built_dataset, hub, tmp_path)


def test_repush_sends_only_changes_and_deletes_stale_shards(built: Path, hub: HubStandIn) -> None:
    _push(built, hub)
    old_shard = _first(built, "scene/train-*")
    data = (built / old_shard).read_bytes()
    (built / old_shard).unlink()
    new_shards = ["scene/train-00000-of-00002-rebuilt.parquet", "scene/train-00001-of-00002-rebuilt.parquet"]
    for name in new_shards:  # a rebuild that sharded differently; the card's glob matches both layouts
        (built / name).write_bytes(data)
    write_manifest(built)

    result = _push(built, hub)

    assert result.deleted == (old_shard,)
    assert set(result.uploaded) == {*new_shards, "manifest.json"}
    assert len(result.unchanged) == len(_folder_files(built)) - 3
    remote = _folder_files(hub.repo_folder(REPO))
    remote.pop(".gitattributes")
    assert remote == _folder_files(built)

    again = _push(built, hub)
    assert again.commits == 0 and again.commit_oid is None and again.uploaded == ()


def test_small_commits_put_the_card_in_the_last_one(built_folder: Path, hub: HubStandIn) -> None:
    result = _push(built_folder, hub, max_files_per_commit=4)
    commits = hub.commits(REPO)[1:]  # after the Hub's initial commit
    assert result.commits == len(commits) > 1
    assert all(len(commit.added) <= 4 for commit in commits)
    assert set(CARD_FILES) <= set(commits[-1].added)
    assert not set(CARD_FILES) & {path for commit in commits[:-1] for path in commit.added}
    assert [c.summary for c in commits][-1].endswith(f"(part {len(commits)} of {len(commits)})")
    remote = _folder_files(hub.repo_folder(REPO))
    remote.pop(".gitattributes")
    assert remote == _folder_files(built_folder)


def test_no_llava_leaves_the_llava_folder_out(built_folder: Path, hub: HubStandIn) -> None:
    result = _push(built_folder, hub, include_llava=False)
    remote = set(_folder_files(hub.repo_folder(REPO)))
    assert not any(path.startswith("llava/") for path in remote)
    assert set(result.excluded) == {p for p in _folder_files(built_folder) if p.startswith("llava/")}
    assert {"README.md", "manifest.json", _first(built_folder, "state/test-*")} <= remote


def _load_counts(folders: list[Path], tmp_path: Path) -> list[object]:
    """What ``load_dataset`` reads from each folder (rows per config and split), or the error it raises."""
    script = (
        "import json, sys, datasets\n"
        "out = []\n"
        "for folder in sys.argv[1:]:\n"
        "    try:\n"
        "        out.append({c: {s: d.num_rows for s, d in datasets.load_dataset(folder, c).items()} for c in %r})\n"
        "    except Exception as error:\n"
        "        out.append(type(error).__name__)\n"
        "print(json.dumps(out))\n"
    ) % (CONFIGS,)
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", script, *map(str, folders)], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_push_failing_on_any_commit_leaves_the_previous_version_loadable_and_a_rerun_finishes(
    built_folder: Path, tmp_path: Path, online: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28, case 3: a multi-commit push that failed on a shard commit left the old card over new
    shards (``NonMatchingSplitsSizesError``) until a rerun. Every commit of the second push fails in
    turn here; after each, the remote still loads as the first version, and a rerun finishes it."""
    monkeypatch.setitem(globals(), "ROWS_PER_SPLIT", {"train": 4, "test": 1})  # other split sizes: a stale card cannot read them
    second = write_built_folder(tmp_path / "second", seed=1)
    first_counts = {c: dict(train=3, test=2) for c in CONFIGS}
    snapshots, failed_at, k = [], [], 1
    while True:
        with HubStandIn(tmp_path / f"hub{k}", token=TOKEN) as hub:
            _push(built_folder, hub, max_files_per_commit=4)
            hub.fail_commits_from = hub.commit_requests + k
            try:
                result = _push(second, hub, max_files_per_commit=4)
            except OSError:
                failed_at.append(k)
                snapshots.append(Path(shutil.copytree(hub.repo_folder(REPO), tmp_path / f"failed-at-{k}")))
                hub.fail_commits_from = None
                rerun = _push(second, hub, max_files_per_commit=4)
                assert rerun.commits >= 1
                assert {p: d for p, d in _folder_files(hub.repo_folder(REPO)).items() if p != ".gitattributes"} == _folder_files(second)
                finished = Path(shutil.copytree(hub.repo_folder(REPO), tmp_path / f"rerun-after-{k}"))
                k += 1
                continue
        break
    assert failed_at == list(range(1, result.commits + 1)) and result.commits > 2  # every commit of a multi-commit push failed once
    loaded = _load_counts([*snapshots, finished], tmp_path)
    assert loaded[:-1] == [first_counts] * len(snapshots)
    assert loaded[-1] == {c: dict(train=4, test=1) for c in CONFIGS}


def test_a_repush_holds_the_read_shards_for_the_card_commit(built: Path, hub: HubStandIn) -> None:
    _push(built, hub, max_files_per_commit=4)
    for shard in sorted(built.glob("*/*.parquet")):
        shard.write_bytes(shard.read_bytes() + b"\0")  # new content under the old names (no reader checks bytes here)
    for image in sorted((built / "llava" / "images").glob("*.png"))[:9]:
        image.write_bytes(image.read_bytes() + b"\0")
    write_manifest(built)
    before = len(hub.commits(REPO))
    _push(built, hub, max_files_per_commit=4)
    commits = hub.commits(REPO)[before:]
    shards = {p.relative_to(built).as_posix() for p in built.glob("*/*.parquet")}
    assert len(commits) > 1
    assert shards | {"manifest.json"} <= set(commits[-1].added)  # the README is unchanged: not sent again
    assert not {path for commit in commits[:-1] for path in commit.added} & (shards | set(CARD_FILES))


# ---------------------------------------------------------------------------- refusals: nothing reaches the Hub


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


CORRUPTIONS = {
    "changed": (_flip_a_byte, "sha256"),
    "truncated": (lambda path: path.write_bytes(path.read_bytes()[:-7]), "bytes"),
    "missing": (Path.unlink, "missing"),
}


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
@pytest.mark.parametrize("pattern", ["state/test-*.parquet", "llava/images/*.png", "README.md"])
def test_a_corrupted_or_partial_folder_is_refused_naming_the_file(built: Path, hub: HubStandIn, kind: str, pattern: str) -> None:
    corrupt, word = CORRUPTIONS[kind]
    victim = _first(built, pattern)
    corrupt(built / victim)
    with pytest.raises(BuiltFolderError) as caught:
        _push(built, hub)
    assert word in str(caught.value) and victim in str(caught.value)
    assert hub.requests == []


def test_a_script_at_the_root_is_refused(built: Path, hub: HubStandIn) -> None:
    (built / "lego_arta.py").write_text("import datasets\n")
    with pytest.raises(BuiltFolderError, match=r"lego_arta\.py.*script"):
        _push(built, hub)
    assert hub.requests == []


def test_a_script_in_a_subfolder_is_only_reported(built: Path, hub: HubStandIn) -> None:
    (built / "llava" / "notes.py").write_text("x = 1\n")
    result = _push(built, hub)
    assert result.unlisted == ("llava/notes.py",)
    assert not (hub.repo_folder(REPO) / "llava" / "notes.py").exists()


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ("# no front matter\n", "front matter"),
        ("---\nlicense: other\n---\n", "configs"),
        ("---\nconfigs:\n- config_name: state\n  data_files:\n  - split: test\n    path: state/nothing-*\n---\n", "matches no file"),
        ("---\nconfigs: [\n---\n", "does not parse"),
    ],
)
def test_a_card_without_usable_configs_is_refused(built: Path, card: str, message: str) -> None:
    (built / "README.md").write_text(card)
    write_manifest(built)
    with pytest.raises(BuiltFolderError, match=message):
        verify_built_folder(built, progress=False)


def test_unlisted_files_are_reported_not_uploaded(built: Path) -> None:
    (built / ".DS_Store").write_bytes(b"\0\1")
    verified = verify_built_folder(built, progress=False)
    assert verified.unlisted == (".DS_Store",)
    assert ".DS_Store" not in {f.path for f in verified.files}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.parquet": {"sha256": "0" * 64}}, "bytes"),
        ({"a.parquet": {"sha256": "XYZ", "bytes": 1}}, "sha256"),
        ({"../escape": {"sha256": "0" * 64, "bytes": 1}}, "relative path"),
        ({"manifest.json": {"sha256": "0" * 64, "bytes": 1}}, "itself"),
        ({}, "non-empty"),
    ],
)
def test_malformed_manifests_are_refused(files: dict, message: str) -> None:
    with pytest.raises(BuiltFolderError, match=message):
        read_manifest_files(json.dumps({"files": files}))


# ---------------------------------------------------------------------------- CLI adapter


def _cli(*argv: str) -> argparse.Namespace:
    return command("push", *argv)


def run_parsed(args: argparse.Namespace) -> int:
    return args.run(args)


def test_cli_takes_the_token_from_hf_token(
    built_folder: Path, hub: HubStandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert run_parsed(_cli(str(built_folder), "--repo", REPO, "--endpoint", hub.endpoint, "--no-progress")) == 0
    assert {request.authorization for request in hub.requests} == {f"Bearer {TOKEN}"}
    assert "pushed" in capsys.readouterr().out


def test_cli_exit_codes(built: Path, hub: HubStandIn, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_parsed(_cli(str(built), "--repo", REPO, "--endpoint", hub.endpoint, "--token", "hf_wrong", "--no-progress")) == 1
    assert "401" in capsys.readouterr().err
    assert run_parsed(_cli(str(built), "--repo", REPO, "--endpoint", UNREACHABLE_ENDPOINT, "--token", TOKEN, "--no-progress")) == 1
    assert "push failed" in capsys.readouterr().err
    _flip_a_byte(built / _first(built, "scene/test-*"))
    assert run_parsed(_cli(str(built), "--repo", REPO, "--endpoint", hub.endpoint, "--token", TOKEN, "--no-progress")) == 2


# ---------------------------------------------------------------------------- properties of the pure parts

_names = st.text(alphabet="abc", min_size=1, max_size=3)
_paths = st.one_of(st.tuples(st.sampled_from(["scene", "state", "llava", "extra"]), _names).map("/".join), _names.map(lambda n: f"{n}.txt"))


@settings(max_examples=150, deadline=None)
@given(
    data_paths=st.sets(_paths, max_size=25),
    with_card=st.booleans(),
    remote=st.sets(_paths, max_size=10),
    sizes=st.lists(st.integers(0, 50), min_size=27, max_size=27),
    unchanged_share=st.integers(0, 3),
    max_files=st.integers(2, 6),
    max_bytes=st.integers(1, 120),
)
def test_commit_plans_send_each_file_once_and_the_card_last(
    data_paths: set[str], with_card: bool, remote: set[str], sizes: list[int], unchanged_share: int, max_files: int, max_bytes: int
) -> None:
    paths = sorted(data_paths | (set(CARD_FILES) if with_card else set()))
    files = [LocalFile(path, "0" * 64, sizes[i]) for i, path in enumerate(paths)]
    unchanged = set(paths[:: unchanged_share + 1]) if unchanged_share else set()
    plan = plan_commits(files, remote, unchanged, max_files=max_files, max_bytes=max_bytes)

    sent = [f.path for batch in plan.batches for f in batch.files]
    assert sorted(sent) == sorted(set(paths) - unchanged)
    for batch in plan.batches:
        assert len(batch.files) <= max_files
        alone = len(batch.files) == 1 or {f.path for f in batch.files} <= set(CARD_FILES)  # the card travels whole
        assert batch.size <= max_bytes or alone
    card_sent = set(CARD_FILES) & set(sent)
    if card_sent:
        assert card_sent <= {f.path for f in plan.batches[-1].files}
    top = {p.split("/")[0] for p in paths if "/" in p}
    stale = {p for p in remote if p not in paths and "/" in p and p.split("/")[0] in top}
    assert {d for batch in plan.batches for d in batch.deletions} == stale
    assert all(not batch.deletions for batch in plan.batches[:-1])
    assert plan.batches or not (set(paths) - unchanged or stale)


_config_names = st.text(alphabet="abcxyz_", min_size=1, max_size=8)
_split_names = st.sampled_from(["train", "test", "validation"])


@settings(max_examples=100, deadline=None)
@given(
    configs=st.dictionaries(_config_names, st.lists(_split_names, min_size=1, max_size=3, unique=True), min_size=1, max_size=4),
    form=st.sampled_from(["list-of-splits", "mapping", "string"]),
)
def test_card_configs_read_back_what_was_written(configs: dict[str, list[str]], form: str) -> None:
    entries = []
    for name, splits in configs.items():
        paths = [f"{name}/{split}-*" for split in splits]
        data_files: object = {
            "list-of-splits": [{"split": split, "path": path} for split, path in zip(splits, paths)],
            "mapping": dict(zip(splits, paths)),
            "string": paths[0],
        }[form]
        entries.append({"config_name": name, "data_files": data_files})
    card = f"---\n{yaml.safe_dump({'configs': entries}, sort_keys=False)}---\nbody\n"
    expected = {
        name: tuple(f"{name}/{split}-*" for split in (splits[:1] if form == "string" else splits)) for name, splits in configs.items()
    }
    assert read_card_configs(card) == expected
