"""``lego-arta build`` on synthetic manuals: every answer checked against the generator's ground truth.

The shared ``built_dataset`` fixture (tests/conftest.py) is one real build of the session's
``synthetic_raw`` manuals with the quick-start recipe; rows are read back with pyarrow and compared
with ``truth.json``, the page HTML and the raw images, never with the builder's own helpers.
"""

from __future__ import annotations

import io
import json
import re
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from lego_arta.annotate.rendered_negatives import RENDER_KINDS
from tests.dataset.built_folder import (
    CONFIGS,
    SPLITS,
    all_rows,
    decode,
    page_texts,
    read_rows,
    truth_steps,
    union,
)
from tests.support.folders import folder_files

#: Size of the test collages (the recipe of ``built_dataset``), and the study's rules (SPEC §3).
COLLAGE = (384, 178)
MIN_DISPLACEMENT = 0.05
NEGATIVES_PER_STATE = 3
TEST_FRACTION = 0.25
#: Answers (and the ``box`` column, their reference) state integer coordinates: at most half a unit off.
BOX_TOLERANCE = 0.5
ID_PATTERN = re.compile(r"[0-9a-f]{20}")
#: Words that would give a state answer away if they appeared in an id or an image name.
REVEALING = ("neg", "pos", "yes", "no", "true", "false", "label", "displaced", "correct", "wrong")


def _by_state(rows: list[dict]) -> dict[tuple[str, str, int], list[dict]]:
    groups: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
    for row in rows:
        groups[row["manual_id"], row["session"], row["step_num"]].append(row)
    return groups


# --- answers against the synthetic truth --------------------------------------------------------


def test_scene_answers_are_the_step_instruction_and_images_the_step_image(built_dataset: Path, synthetic_raw: Path) -> None:
    rows = all_rows(built_dataset, "scene")
    assert rows
    for row in rows:
        truth = truth_steps(synthetic_raw, row["manual_id"])[row["session"], row["step_num"]]
        texts = page_texts(synthetic_raw, row["manual_id"])
        step_file = truth.step["file"]
        assert row["answer"] == texts[_decoded(step_file)], row["id"]
        np.testing.assert_array_equal(decode(row["image"]["bytes"]), truth.image(truth.step))
        assert truth.eop is not None, "a scene pair needs the object-finding step before it"
        found = row["query"].removeprefix("[grounding] After I find ").removesuffix(". Tell me what to do for the current situation.")
        assert found != row["query"] and found in texts[_decoded(truth.eop["file"])], row["query"]


def _decoded(file: str) -> str:
    from urllib.parse import unquote

    return unquote(file)


def _quadrant(quadrant: int) -> tuple[int, int, int, int]:
    """Pixel rectangle (x, y, w, h) of a 2x2 collage quadrant: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right."""
    width, height = COLLAGE
    left, top = width // 2, height // 2
    x, y = (0 if quadrant % 2 == 0 else left), (0 if quadrant < 2 else top)
    return x, y, (left if quadrant % 2 == 0 else width - left), (top if quadrant < 2 else height - top)


@pytest.mark.slow
def test_object_boxes_are_the_true_part_boxes_in_the_target_quadrant(built_dataset: Path, synthetic_raw: Path) -> None:
    rows = all_rows(built_dataset, "object")
    assert rows
    quadrants = defaultdict(set)
    for row in rows:
        truth = truth_steps(synthetic_raw, row["manual_id"])[row["session"], row["step_num"]]
        assert truth.eop is not None
        source = truth.image(truth.eop)
        source_h, source_w = source.shape[:2]
        x, y, w, h = _quadrant(row["quadrant"])
        px1, py1, px2, py2 = union([part["box"] for part in truth.eop["parts"]])
        expected = (
            100 * (x + px1 * w / source_w) / COLLAGE[0],
            100 * (y + py1 * h / source_h) / COLLAGE[1],
            100 * (x + px2 * w / source_w) / COLLAGE[0],
            100 * (y + py2 * h / source_h) / COLLAGE[1],
        )
        assert row["box"] == pytest.approx(expected, abs=BOX_TOLERANCE), row["id"]
        frame = (100 * x / COLLAGE[0], 100 * y / COLLAGE[1], 100 * (x + w) / COLLAGE[0], 100 * (y + h) / COLLAGE[1])
        x1, y1, x2, y2 = row["box"]
        assert (
            frame[0] - BOX_TOLERANCE <= x1 < x2 <= frame[2] + BOX_TOLERANCE
            and frame[1] - BOX_TOLERANCE <= y1 < y2 <= frame[3] + BOX_TOLERANCE
        )
        numbers = [int(v) for v in re.findall(r"<(\d+)>", row["answer"])]
        assert numbers == row["box"] and row["answer"].startswith(f"<p>{row['object']}</p>{{"), "the box column is the answer's box"
        # The target parts image really is in that quadrant (and in no other).
        collage = decode(row["image"]["bytes"])
        assert collage.shape[:2] == (COLLAGE[1], COLLAGE[0])
        resized = cv2.resize(source, (w, h), interpolation=cv2.INTER_AREA).astype(int)
        errors = []
        for quadrant in range(4):
            qx, qy, qw, qh = _quadrant(quadrant)
            tile = collage[qy : qy + qh, qx : qx + qw].astype(int)
            errors.append(np.abs(tile - resized).mean() if tile.shape == resized.shape else np.inf)
        assert errors[row["quadrant"]] < 1.0 and min(e for q, e in enumerate(errors) if q != row["quadrant"]) > errors[row["quadrant"]]
        quadrants[row["manual_id"], row["session"], row["step_num"]].add(row["quadrant"])
    assert all(found == {0, 1, 2, 3} for found in quadrants.values()), "every object is asked once per quadrant"


def _paste_offset(negative: np.ndarray, step: np.ndarray, item: np.ndarray) -> tuple[tuple[int, int], float]:
    """Where the step's item pixels (``item`` mask) sit in ``negative``: their shift, and the share that match exactly."""
    ys, xs = np.nonzero(item)
    x1, y1, x2, y2 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    template = np.ascontiguousarray(step[y1:y2, x1:x2]).astype(np.float32)
    mask = np.repeat(item[y1:y2, x1:x2, None], 3, axis=2).astype(np.float32)
    scores = cv2.matchTemplate(negative.astype(np.float32), template, cv2.TM_SQDIFF, mask=mask)
    _, _, (x, y), _ = cv2.minMaxLoc(scores)
    dx, dy = int(x - x1), int(y - y1)
    pasted = negative[ys + dy, xs + dx]
    return (dx, dy), float(np.mean(np.all(pasted == step[ys, xs], axis=1)))


@pytest.fixture(scope="module")
def pasted_build(tmp_path_factory: pytest.TempPathFactory, synthetic_raw: Path, built_recipe) -> Path:
    """The state config with the study's pasted negatives (``negatives: [displaced]``)."""
    from dataclasses import replace

    from lego_arta.dataset.pipeline import build

    out = tmp_path_factory.mktemp("pasted") / "built"
    build(replace(built_recipe, configs=("state",), negatives=("displaced",)), out, raw=synthetic_raw, progress=False)
    return out


@pytest.mark.slow
def test_render_true_state_negatives_are_three_kinds_each_unlike_the_step(built_dataset: Path, synthetic_raw: Path) -> None:
    groups = _by_state(all_rows(built_dataset, "state"))
    assert groups
    kinds = set()
    for key, rows in groups.items():
        truth = truth_steps(synthetic_raw, key[0])[key[1], key[2]]
        positives = [r for r in rows if r["label"]]
        negatives = [r for r in rows if not r["label"]]
        assert len(positives) == 1 and len(negatives) == NEGATIVES_PER_STATE, key
        assert positives[0]["negative_kind"] == "none" and positives[0]["displacement"] == 0.0
        step = truth.image(truth.step)
        np.testing.assert_array_equal(decode(positives[0]["image"]["bytes"]), step)
        images = [decode(r["image"]["bytes"]) for r in negatives]
        assert all(image.shape == step.shape and not np.array_equal(image, step) for image in images), key
        assert len({image.tobytes() for image in images}) == NEGATIVES_PER_STATE, f"{key}: negatives must differ from each other"
        assert {r["negative_kind"] for r in negatives} <= set(RENDER_KINDS) and {r["displacement"] for r in negatives} == {0.0}
        kinds |= {r["negative_kind"] for r in negatives}
    assert kinds == set(RENDER_KINDS), f"the quick-start mix makes every kind somewhere, got {sorted(kinds)}"


@pytest.mark.slow
def test_state_positives_are_the_real_step_and_negatives_the_item_moved_at_least_5_percent(pasted_build: Path, synthetic_raw: Path) -> None:
    groups = _by_state(all_rows(pasted_build, "state"))
    assert groups
    for key, rows in groups.items():
        truth = truth_steps(synthetic_raw, key[0])[key[1], key[2]]
        assert truth.previous is not None and truth.boundary is not None, key
        positives = [r for r in rows if r["label"]]
        negatives = [r for r in rows if not r["label"]]
        assert len(positives) == 1 and len(negatives) == NEGATIVES_PER_STATE, key
        assert {r["answer"] for r in positives} == {"Yes."} and {r["answer"] for r in negatives} == {"No."}
        step = truth.image(truth.step)
        np.testing.assert_array_equal(decode(positives[0]["image"]["bytes"]), step)
        model = [truth.previous["boxes"][k] for k in truth.previous["boxes"]]
        box_w = max(b[2] for b in model) - min(b[0] for b in model)
        box_h = max(b[3] for b in model) - min(b[1] for b in model)
        item = truth.item_mask()
        offsets = []
        for row in negatives:
            image = decode(row["image"]["bytes"])
            assert image.shape == step.shape and not np.array_equal(image, step) and row["negative_kind"] == "displaced"
            (dx, dy), share = _paste_offset(image, step, item)
            assert share > 0.9, f"{key}: the changed pixels are not the step's item moved ({share:.2f})"
            moved = max(abs(dx) / box_w, abs(dy) / box_h)
            assert moved >= MIN_DISPLACEMENT, f"{key}: item moved by only {moved:.3f} of the model box"
            assert row["displacement"] == pytest.approx(moved, abs=0.02)
            offsets.append((dx, dy))
        assert len(set(offsets)) == NEGATIVES_PER_STATE, f"{key}: negatives must differ from each other"


def test_every_assembly_step_is_a_pair_or_a_counted_skip(built_dataset: Path, synthetic_raw: Path) -> None:
    manifest = json.loads((built_dataset / "manifest.json").read_text())
    steps = sum(len(truth_steps(synthetic_raw, manual)) for manual in manifest["manuals"])
    scene_skips = sum(n for reason, n in manifest["skips"].items() if reason.startswith("scene:"))
    state_skips = sum(n for reason, n in manifest["skips"].items() if reason.startswith("state:"))
    scene_rows = len(all_rows(built_dataset, "scene"))
    states = len(_by_state(all_rows(built_dataset, "state")))
    assert scene_rows + scene_skips == steps
    assert states + state_skips == steps
    parts_steps = sum(1 for manual in manifest["manuals"] for step in truth_steps(synthetic_raw, manual).values() if step.eop)
    object_skips = sum(n for reason, n in manifest["skips"].items() if reason.startswith("object:"))
    assert len(all_rows(built_dataset, "object")) == 4 * (parts_steps - object_skips)
    assert sum(manifest["counts"]["scene"].values()) == scene_rows


# --- splits ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llava_export(built_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``lego-arta export llava`` of the shared build."""
    from lego_arta.dataset.export import export_llava

    out = tmp_path_factory.mktemp("llava") / "export"
    export_llava(built_dataset, out)
    return out


def test_no_manual_is_in_both_splits_of_any_config(built_dataset: Path, llava_export: Path) -> None:
    manifest = json.loads((built_dataset / "manifest.json").read_text())
    train, test = set(), set()
    for config in CONFIGS:
        train |= {row["manual_id"] for row in read_rows(built_dataset, config, "train")}
        test |= {row["manual_id"] for row in read_rows(built_dataset, config, "test")}
    assert train and test and not train & test
    assert {m for m, s in manifest["manuals"].items() if s == "test"} == test
    assert len(test) == round(TEST_FRACTION * len(manifest["manuals"]))
    llava = {split: {e["id"] for e in json.loads((llava_export / "llava" / f"{split}.json").read_text())} for split in SPLITS}
    for split in SPLITS:
        assert llava[split] == {row["id"] for config in CONFIGS for row in read_rows(built_dataset, config, split)}


# --- nothing reveals the answer ---------------------------------------------------------------------


def test_ids_and_image_names_are_opaque(built_dataset: Path, llava_export: Path) -> None:
    ids = []
    for config in CONFIGS:
        for row in all_rows(built_dataset, config):
            assert ID_PATTERN.fullmatch(row["id"]), row["id"]
            assert row["image"]["path"] == f"{row['id']}.png"
            ids.append(row["id"])
    assert len(ids) == len(set(ids))
    for split in SPLITS:
        for entry in json.loads((llava_export / "llava" / f"{split}.json").read_text()):
            assert entry["image"] == f"images/{entry['id']}.png" and ID_PATTERN.fullmatch(entry["id"])
    names = [p.name.lower() for p in [*built_dataset.rglob("*"), *llava_export.rglob("*")]]
    assert not [
        n
        for n in names
        if n.endswith(".png")
        and any(word in n.removesuffix(".png") for word in REVEALING if not ID_PATTERN.fullmatch(n.removesuffix(".png")))
    ]


def _png_metadata(data: bytes) -> tuple:
    """What a PNG says besides its pixels: format, mode, size, header entries, the chunk sequence
    up to the first image data, and the zlib header there (it records the compression level)."""
    with Image.open(io.BytesIO(data)) as image:
        facts = image.format, image.mode, image.size, tuple(sorted(image.info))
    chunks, offset = [], 8
    while offset < len(data):
        length, kind = int.from_bytes(data[offset : offset + 4], "big"), data[offset + 4 : offset + 8]
        chunks.append(kind)
        if kind == b"IDAT":
            return (*facts, tuple(chunks), data[offset + 8 : offset + 10])
        offset += 12 + length
    return (*facts, tuple(chunks), b"")


def test_positive_and_negative_images_of_a_state_look_alike_to_a_model(built_dataset: Path) -> None:
    """Only the answer columns differ within a state; image format, mode, size, PNG chunks and the
    encoder's settings do not (a positive embedded as the raw file would differ from its negatives)."""
    answer_columns = {"id", "image", "answer", "label", "negative_kind", "displacement"}
    groups = _by_state(all_rows(built_dataset, "state"))
    positive_places, id_ranks = set(), set()
    for rows in groups.values():
        for column in set(rows[0]) - answer_columns:
            assert len({json.dumps(r[column]) for r in rows}) == 1, column
        assert len({_png_metadata(r["image"]["bytes"]) for r in rows}) == 1
        positive_places.add(next(i for i, r in enumerate(rows) if r["label"]))
        id_ranks.add(sorted(r["id"] for r in rows).index(next(r["id"] for r in rows if r["label"])))
    assert len(positive_places) > 1, "the positive must not always sit at the same place among its negatives"
    assert len(id_ranks) > 1, "ids must not sort positives apart"


# --- determinism ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_building_twice_gives_byte_identical_folders(built_dataset: Path, built_recipe, synthetic_raw: Path, tmp_path: Path) -> None:
    from lego_arta.dataset.pipeline import build

    again = build(built_recipe, tmp_path / "again", raw=synthetic_raw, progress=False, workers=2).out
    first, second = folder_files(built_dataset), folder_files(again)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    manifest = (again / "manifest.json").read_text()
    assert str(tmp_path) not in manifest and str(synthetic_raw) not in manifest and str(Path.home()) not in manifest
    assert not re.search(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", manifest), "the manifest must hold no timestamps"
    checksums = json.loads(manifest)["files"]
    assert set(checksums) == set(second) - {"manifest.json"}


@pytest.mark.slow
def test_voting_in_the_pair_jobs_gives_the_two_pass_build(built_dataset: Path, built_recipe, synthetic_raw: Path, tmp_path: Path) -> None:
    """A recipe with an evaluation-only config needs each manual's split before its pairs, so it
    votes in a pass of its own; the quick-start recipe votes inside the pair jobs and splits after.
    Both must give the same shards of the configs they share, and nothing may be left beside the build."""
    from dataclasses import replace

    from lego_arta.dataset.pipeline import build

    two_pass = build(
        replace(built_recipe, configs=(*built_recipe.configs, "state_syn")),
        tmp_path / "two-pass",
        raw=synthetic_raw,
        progress=False,
        workers=2,
    ).out
    fused, separate = folder_files(built_dataset), folder_files(two_pass)
    shards = sorted(name for name in fused if name.endswith(".parquet"))
    assert shards and {name.split("/")[0] for name in shards} == set(built_recipe.configs)
    assert [name for name in shards if fused[name] != separate.get(name)] == []
    assert json.loads(fused["manifest.json"])["manuals"] == json.loads(separate["manifest.json"])["manuals"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two-pass"]
    # (other tests keep their LLaVA export beside the shared build; nothing the build wrote for itself may be there)
    assert [p.name for p in built_dataset.parent.iterdir() if p.name.startswith(f".{built_dataset.name}.")] == []


# --- images embedded as their files -------------------------------------------------------------


def _step_file(raw: Path, row: dict) -> Path:
    """The raw assembly image of a state row, found from the synthetic truth (not from the builder)."""
    truth = truth_steps(raw, row["manual_id"])[row["session"], row["step_num"]]
    return raw / row["manual_id"] / "images" / truth.step["file"]


def test_state_positives_are_their_step_files_and_negatives_are_stored_alike(built_dataset: Path, synthetic_raw: Path) -> None:
    """The synthetic manuals record their images as the build's own encoding, so a positive is
    the raw file's bytes (no encode); its negatives are stored as that file is (RGBA)."""
    rows = all_rows(built_dataset, "state")
    positives = [r for r in rows if r["label"]]
    assert positives
    for row in positives:
        assert row["image"]["bytes"] == _step_file(synthetic_raw, row).read_bytes()
    assert {Image.open(io.BytesIO(r["image"]["bytes"])).mode for r in rows} == {"RGBA"}


@pytest.mark.slow
def test_files_the_record_vouches_for_are_the_bytes_encoding_them_gives(
    built_dataset: Path, built_dataset_result, built_recipe, synthetic_raw: Path, tmp_path: Path
) -> None:
    """Without the encoding records every positive is encoded again, and the build is the same
    byte for byte; a file edited after its record was written (the same pixels saved at zlib level
    9) is encoded again too, never embedded: only the scene rows, which embed any plain PNG, change."""
    import shutil

    from lego_arta.dataset.pipeline import build
    from lego_arta.png import RECORD_FILE

    unrecorded = tmp_path / "unrecorded"
    shutil.copytree(synthetic_raw, unrecorded)
    for record in unrecorded.glob(f"*/{RECORD_FILE}"):
        record.unlink()
    again = build(built_recipe, tmp_path / "encoded", raw=unrecorded, progress=False, workers=2)
    shared = built_dataset_result  # the same recipe and recorded manuals, one worker
    first, second = folder_files(built_dataset), folder_files(again.out)
    assert [name for name in first if name.endswith(".parquet") and first[name] != second[name]] == []
    assert again.stats["encodes_spared"] == 0 and shared.stats["encodes_spared"] > 0
    assert again.stats["encodes"] == shared.stats["encodes"] + shared.stats["encodes_spared"]

    edited = tmp_path / "edited"
    shutil.copytree(synthetic_raw, edited)
    positive = next(r for r in all_rows(built_dataset, "state") if r["label"])
    path = _step_file(edited, positive)
    buffer = io.BytesIO()
    Image.open(path).save(buffer, format="PNG", compress_level=9)
    assert buffer.getvalue() != path.read_bytes()
    path.write_bytes(buffer.getvalue())
    rebuilt = build(built_recipe, tmp_path / "rebuilt", raw=edited, progress=False, workers=2).out
    third = folder_files(rebuilt)
    changed = sorted(name for name in first if name.endswith(".parquet") and first[name] != third[name])
    assert changed and all(name.startswith("scene/") for name in changed)
    again_positive = next(r for r in all_rows(rebuilt, "state") if r["id"] == positive["id"])
    assert again_positive["image"]["bytes"] == positive["image"]["bytes"] != path.read_bytes()


@pytest.mark.slow
def test_a_split_the_votes_change_is_rewritten_as_the_two_pass_build_writes_it(built_recipe, synthetic_raw: Path, tmp_path: Path) -> None:
    """The voting route streams rows into the split the seed gives before stratifying; with a
    seed whose split misses the highlighted manuals on one side, the votes swap two manuals and
    the shards are rewritten. They must be the two-pass build's (which splits first), byte for byte."""
    from dataclasses import replace

    from lego_arta.dataset.pairs import manual_strata, session_votes
    from lego_arta.dataset.pipeline import build
    from lego_arta.dataset.splits import split_manuals
    from lego_arta.parse.manual import load_manuals

    manuals = load_manuals(synthetic_raw)
    strata = {m.manual_id: manual_strata(session_votes(m, built_recipe)) for m in manuals}
    ids = [m.manual_id for m in manuals]

    def split(seed: int, **kwargs) -> dict[str, str]:
        return split_manuals(ids, test_fraction=built_recipe.test_fraction, seed=seed, **kwargs)

    seed = next((s for s in range(100) if split(s) != split(s, strata=strata)), None)
    assert seed is not None, f"no seed below 100 makes the votes change the split of {strata}"
    recipe = replace(built_recipe, seed=seed)
    fused = build(recipe, tmp_path / "fused", raw=synthetic_raw, progress=False, workers=2).out
    two_pass = build(
        replace(recipe, configs=(*recipe.configs, "state_syn")), tmp_path / "two-pass", raw=synthetic_raw, progress=False, workers=2
    ).out
    first, second = folder_files(fused), folder_files(two_pass)
    shards = sorted(name for name in first if name.endswith(".parquet"))
    assert {name.split("/")[0] for name in shards} == set(recipe.configs)
    assert [name for name in shards if first[name] != second.get(name)] == []
    assert json.loads(first["manifest.json"])["manuals"] == split(seed, strata=strata) != split(seed)
    assert json.loads(first["manifest.json"])["counts"] == {
        c: n for c, n in json.loads(second["manifest.json"])["counts"].items() if c in recipe.configs
    }
    assert not [name for name in first if "taken" in name or "/." in name]
