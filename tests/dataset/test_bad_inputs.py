"""Damaged raw manuals and builds that would leave a split empty: a clear error or a counted skip, never a silent drop."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from lego_arta.dataset.export import EmptySplitError
from lego_arta.dataset.jobs import write_rows
from lego_arta.dataset.pairs import ImageError, ManualPairs
from lego_arta.dataset.pipeline import build
from lego_arta.dataset.report import build_table
from lego_arta.dataset.staging import Staging
from lego_arta.parse.manual import ManualError
from tests.dataset.built_folder import truth_steps

#: The synthetic manual without highlighted parts (no state pairs), by its place in sorted order.
UNHIGHLIGHTED = 1


def _manuals(raw: Path) -> list[Path]:
    return sorted(p for p in raw.iterdir() if p.is_dir())


def _copy(raw: Path, target: Path, keep: list[int] | None = None) -> Path:
    shutil.copytree(raw, target)
    if keep is not None:
        for index, folder in enumerate(_manuals(target)):
            if index not in keep:
                shutil.rmtree(folder)
    return target


def _step_image(manual: Path) -> Path:
    """An assembly image of the manual's first session that has a previous assembly step."""
    steps = truth_steps(manual.parent, manual.name)
    step = next(s for s in steps.values() if s.previous is not None and s.boundary is not None and s.eop is not None)
    return manual / "images" / step.step["file"]


def _truncate(image: Path) -> None:
    data = image.read_bytes()
    image.write_bytes(data[: len(data) // 2])


def _break_page(manual: Path) -> Path:
    page = manual / f"{manual.name}.html"
    page.write_text(page.read_text(encoding="utf-8").replace("manual-table-container", "table-container"), encoding="utf-8")
    return page


def _remove_image(manual: Path) -> Path:
    image = sorted((manual / "images").glob("*_eop_*"))[-1]
    image.unlink()
    return image


def test_a_config_without_rows_gets_no_file(tmp_path: Path) -> None:
    """datasets cannot load an empty Parquet split, so a manual's job writes no file for a config it has no rows of."""
    staging = Staging.create(str(tmp_path / "staging"), key="test")
    record = write_rows(ManualPairs("m1", rows={"scene": []}), ["scene"], staging, strict=False, exclude=None)
    assert record.files == {} and record.units == {"scene": 0}
    assert not list(tmp_path.rglob("*.parquet"))


def test_one_manual_cannot_fill_both_splits(synthetic_raw: Path, built_recipe, tmp_path: Path) -> None:
    raw = _copy(synthetic_raw, tmp_path / "raw", keep=[0])
    with pytest.raises(EmptySplitError, match="at least 2 manuals"):
        build(built_recipe, tmp_path / "out", raw=raw, progress=False)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_config_without_rows_in_a_split_is_left_out_and_reported_unless_required(
    synthetic_raw: Path, built_recipe, tmp_path: Path
) -> None:
    """With two manuals, one without highlighted parts, one split gets no state pair: state is left
    out and named; ``--strict`` or ``require: [state]`` refuse the build by name."""
    raw = _copy(synthetic_raw, tmp_path / "raw", keep=[0, UNHIGHLIGHTED])
    recipe = replace(built_recipe, configs=("scene", "state"))
    result = build(recipe, tmp_path / "out", raw=raw, progress=False)
    assert list(result.counts) == ["scene"] and set(result.absent) == {"state"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert set(manifest["absent_configs"]) == {"state"} and set(manifest["counts"]) == {"scene"}
    assert not (tmp_path / "out" / "state").exists()
    from lego_arta.dataset.export import export_llava

    export_llava(tmp_path / "out", tmp_path / "llava-export")
    llava = tmp_path / "llava-export" / "llava"
    assert all(entry["task"] == "scene" for split in ("train", "test") for entry in json.loads((llava / f"{split}.json").read_text()))
    assert "Left out" in (tmp_path / "out" / "README.md").read_text() and "`state`" in (tmp_path / "out" / "README.md").read_text()
    console = Console(width=200, record=True)
    console.print(build_table(result))
    summary = console.export_text()
    assert "absent" in summary and "left out" in summary
    for refused in ({"strict": True}, {"recipe": replace(recipe, require=("state",))}):
        out = tmp_path / f"refused-{len(refused)}-{'strict' in refused}"
        with pytest.raises(EmptySplitError, match=r"no rows for state/(train|test)") as error:
            build(refused.get("recipe", recipe), out, raw=raw, progress=False, strict=refused.get("strict", False))
        assert "scene/" not in str(error.value).split("(")[0] and "session without a highlight" in str(error.value)
        assert not out.exists()


@pytest.mark.slow
def test_damaged_inputs_are_counted_and_named_in_the_manifest_and_report(synthetic_raw: Path, built_recipe, tmp_path: Path) -> None:
    raw = _copy(synthetic_raw, tmp_path / "raw")
    manuals = _manuals(raw)
    truncated = _step_image(manuals[0])
    _truncate(truncated)
    _break_page(manuals[UNHIGHLIGHTED])
    missing = _remove_image(manuals[3])
    result = build(replace(built_recipe, configs=("scene", "state")), tmp_path / "out", raw=raw, progress=False)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["skips"]["parse: unreadable manual"] == 1 and manifest["skips"]["parse: missing image"] == 1
    assert manuals[UNHIGHLIGHTED].name not in manifest["manuals"]
    parse_skips = "\n".join(manifest["parse_skips"])
    assert f"{manuals[UNHIGHLIGHTED].name}.html" in parse_skips and missing.name in parse_skips
    assert str(raw) not in json.dumps(manifest), "the manifest names files relative to the raw folder"
    assert list(manifest["image_errors"][manuals[0].name]) == [f"images/{truncated.name}"]
    assert manifest["skips"]["scene: undecodable assembly image"] == 1
    assert manifest["skips_per_manual"][manuals[0].name]["scene: undecodable assembly image"] == 1
    assert any("undecodable" in reason for reason in manifest["skips_per_manual"][manuals[0].name] if reason.startswith("state:"))
    assert result.skips == manifest["skips"]
    console = Console(width=200, record=True)
    console.print(build_table(result))
    report = console.export_text()
    for reason in ("parse: unreadable manual", "parse: missing image", "scene: undecodable assembly image"):
        assert reason in report
    card = (tmp_path / "out" / "README.md").read_text()
    assert "scene: undecodable assembly image" in card


def test_strict_build_names_the_truncated_image(synthetic_raw: Path, built_recipe, tmp_path: Path) -> None:
    raw = _copy(synthetic_raw, tmp_path / "raw")
    truncated = _step_image(_manuals(raw)[0])
    _truncate(truncated)
    with pytest.raises(ImageError, match=str(truncated).replace("%", ".")):
        build(built_recipe, tmp_path / "out", raw=raw, progress=False, strict=True)
    assert not (tmp_path / "out").exists()


def test_strict_build_names_the_malformed_page(synthetic_raw: Path, built_recipe, tmp_path: Path) -> None:
    raw = _copy(synthetic_raw, tmp_path / "raw")
    page = _break_page(_manuals(raw)[2])
    with pytest.raises(ManualError, match=page.name):
        build(built_recipe, tmp_path / "out", raw=raw, progress=False, strict=True)
    assert not (tmp_path / "out").exists()


def test_strict_build_names_the_missing_image(synthetic_raw: Path, built_recipe, tmp_path: Path) -> None:
    raw = _copy(synthetic_raw, tmp_path / "raw")
    missing = _remove_image(_manuals(raw)[2])
    with pytest.raises(ManualError, match="missing image") as error:
        build(built_recipe, tmp_path / "out", raw=raw, progress=False, strict=True)
    assert missing.name in str(error.value)
    assert not (tmp_path / "out").exists()


#: Two synthetic manuals of this seed are both without highlights (the state task gets no pair).
UNHIGHLIGHTED_SEED = 9
CRAWLED_RECIPE = Path(__file__).resolve().parents[2] / "builders" / "crawled.yaml"


@pytest.mark.slow
def test_a_crawled_layout_build_without_highlights_exits_0_with_state_absent(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A third of real manuals have no highlight; a folder of only such manuals still builds scene and object."""
    from lego_arta.cli import main
    from lego_arta.source.layout import TRUTH_FILE
    from lego_arta.source.synth.generator import LABELS_DIR, SYNTH_RECORD, SynthConfig, synthesize
    from tests.conftest import TEST_HEIGHT, TEST_WIDTH

    raw = tmp_path / "raw-crawled"
    synthesize(raw, SynthConfig(manuals=2, seed=UNHIGHLIGHTED_SEED, width=TEST_WIDTH, height=TEST_HEIGHT), workers=1, progress=False)
    (raw / SYNTH_RECORD).unlink()
    for manual in _manuals(raw):  # the crawled layout: page and images only, no ground truth
        (manual / TRUTH_FILE).unlink()
        shutil.rmtree(manual / LABELS_DIR)
    assert main(["build", str(CRAWLED_RECIPE), "--raw", str(raw), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "state" in printed and "absent" in printed
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["absent_configs"]["state"]["empty_splits"] == ["train", "test"]
    assert set(manifest["counts"]) == {"scene", "object"} and all(manifest["counts"]["scene"].values())
    assert manifest["skips"]["state: session without a highlight (boundary) colour"] > 0
    import datasets

    assert datasets.get_dataset_config_names(str(tmp_path / "out")) == ["object", "scene"]


def test_require_is_a_typed_recipe_field_naming_built_configs() -> None:
    from lego_arta.dataset.recipe import RecipeError, recipe_from_dict

    assert recipe_from_dict({"require": ["state"]}, where="r.yaml").require == ("state",)
    with pytest.raises(RecipeError, match=r"r.yaml: field 'require' names \['state'\], which the recipe does not build"):
        recipe_from_dict({"configs": ["scene"], "require": ["state"]}, where="r.yaml")
    with pytest.raises(RecipeError, match="r.yaml: field 'require' must be a list"):
        recipe_from_dict({"require": "state"}, where="r.yaml")
