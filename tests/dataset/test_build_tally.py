"""The build's tally: per-manual results merge into one account, and the manifest is read from it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lego_arta.dataset.pairs import ManualPairs
from lego_arta.dataset.pipeline import BuildTally
from lego_arta.dataset.recipe import BuildRecipe
from lego_arta.parse.manual import Skip

RAW = Path("/data/raw")


def _rows(*units: tuple[str, int]) -> list[dict[str, object]]:
    return [{"session": session, "step_num": step} for session, step in units]


def _started() -> BuildTally:
    skips = [Skip("m3", f"unreadable manual: {RAW}/m3/m3.html has no table"), Skip("m1", f"missing image: {RAW}/m1/images/a.png", row=4)]
    return BuildTally.start(["m2", "m1"], skips, {"m1": "test", "m2": "train"}, RAW)


def test_start_keeps_the_reading_order_and_the_parse_skips_without_the_raw_folder() -> None:
    tally = _started()
    assert list(tally.manuals.items()) == [("m2", "train"), ("m1", "test")]
    assert tally.parse_skips == ["m3: unreadable manual: m3/m3.html has no table", "m1 row 4: missing image: m1/images/a.png"]
    assert tally.skips == Counter({"parse: unreadable manual": 1, "parse: missing image": 1})
    assert not tally.units and not tally.skips_per_manual and not tally.image_errors


def test_manuals_merge_into_one_tally() -> None:
    tally = _started()
    tally.add(
        ManualPairs(
            "m2",
            rows={"scene": _rows(("a", 1), ("a", 1), ("a", 2))},
            skips=Counter({"state: no highlight": 2}),
            image_errors={"images/z.png": "truncated", "images/b.png": "not an image"},
        ),
        ("scene", "state"),
    )
    tally.add(
        ManualPairs(
            "m1",
            rows={"scene": _rows(("b", 1)), "state": _rows(("b", 1), ("b", 1))},
            skips=Counter({"state: no highlight": 1, "scene: no step image": 1}),
        ),
        ("scene", "state"),
    )
    tally.add(ManualPairs("m4", rows={"scene": _rows(("c", 1))}), ("scene", "state"))
    assert tally.units == Counter({"scene": 4, "state": 1})
    assert list(tally.units) == ["scene", "state"], "a config without units is still counted (as 0) in config order"
    assert tally.skips == Counter(
        {"parse: unreadable manual": 1, "parse: missing image": 1, "state: no highlight": 3, "scene: no step image": 1}
    )
    assert tally.skips_per_manual == {"m2": {"state: no highlight": 2}, "m1": {"scene: no step image": 1, "state: no highlight": 1}}
    assert list(tally.skips_per_manual["m1"]) == ["scene: no step image", "state: no highlight"], "reasons sorted"
    assert list(tally.image_errors["m2"].items()) == [("images/b.png", "not an image"), ("images/z.png", "truncated")]
    assert "m1" not in tally.image_errors and "m4" not in tally.skips_per_manual


def test_a_manual_without_rows_of_a_config_adds_a_zero() -> None:
    tally = BuildTally()
    tally.add(ManualPairs("m1"), ("scene",))
    assert tally.units == Counter({"scene": 0}) and "scene" in tally.units


def test_the_manifest_is_read_from_the_tally() -> None:
    tally = _started()
    tally.add(
        ManualPairs(
            "m2", rows={"scene": _rows(("a", 1))}, skips=Counter({"scene: no step image": 1}), image_errors={"images/x.png": "truncated"}
        ),
        ("scene",),
    )
    recipe = BuildRecipe()
    counts = {"scene": {"train": 1, "test": 0}}
    manifest = tally.manifest(recipe, counts, {"scene": "abc"})
    assert manifest["recipe"] == recipe.to_dict() and manifest["seed"] == recipe.seed
    assert manifest["manuals"] == {"m2": "train", "m1": "test"}
    assert manifest["counts"] == counts and manifest["fingerprints"] == {"scene": "abc"}
    assert manifest["units"] == {"scene": 1} and type(manifest["units"]) is dict
    assert list(manifest["skips"]) == sorted(manifest["skips"])
    assert manifest["skips"] == {"parse: missing image": 1, "parse: unreadable manual": 1, "scene: no step image": 1}
    assert manifest["skips_per_manual"] == {"m2": {"scene: no step image": 1}}
    assert manifest["parse_skips"] == tally.parse_skips and manifest["image_errors"] == {"m2": {"images/x.png": "truncated"}}
    assert {"lego_arta_version", "datasets_version", "pyarrow_version", "python"} <= set(manifest)
    assert str(RAW) not in repr(manifest)
