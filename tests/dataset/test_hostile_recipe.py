"""Recipes are typed and range-checked where they are read: every bad field is an error naming the file and the field.

Before, ``negatives_per_state: 0`` built 12,110 state rows with skip counts of "-2 ×",
``test_fraction: "0.25"`` was a TypeError traceback, ``name: ../../x`` wrote the synthetic cache
outside its folder and ``configs: []`` wrote an empty dataset.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from lego_arta.cli import main
from lego_arta.dataset.recipe import BuildRecipe, RecipeError, SourceSpec, load_recipe
from tests.support.cli import error_printed

BUILDERS = Path(__file__).resolve().parents[2] / "builders"

#: (field, bad value): each must be refused by name.
BAD_FIELDS: list[tuple[str, object]] = [
    ("negatives_per_state", 0),
    ("negatives_per_state", -1),
    ("negatives_per_state", 2.5),
    ("test_fraction", "0.25"),
    ("test_fraction", 0),
    ("test_fraction", 1.0),
    ("test_fraction", True),
    ("test_fraction", float("nan")),
    ("kmeans_clusters", 0),
    ("seed", "abc"),
    ("seed", -3),
    ("configs", []),
    ("configs", "scene"),
    ("configs", ["scene", "scene"]),
    ("configs", ["scene", "nope"]),
    ("name", "../../x"),
    ("name", "a/b"),
    ("name", ".."),
    ("name", ""),
    ("name", 7),
    ("min_displacement", -0.1),
    ("min_displacement", 1),
    ("negatives", []),
    ("negatives", "shifted"),
    ("negatives", ["shifted", "shifted"]),
    ("negatives", ["shifted", "teleported"]),
    ("negatives", [3]),
    ("scene_pairing", "loose"),
    ("scene_pairing", True),
    ("collage_width", 0),
    ("collage_height", "big"),
    ("in_context_examples", -1),
    ("grounder", "magic"),
    ("grounder", "transformers:"),
    ("hub_repo", "no-slash"),
    ("source.manuals", 0),
    ("source.manuals", "6"),
    ("source.seed", None),
    ("source.width", -10),
    ("source.height", 10**6),
    ("source.kind", "ftp"),
    ("source.path", 3),
]


def _write(tmp_path: Path, field: str, value: object) -> Path:
    data = yaml.safe_load((BUILDERS / "quickstart.yaml").read_text())
    if field.startswith("source."):
        data["source"][field.split(".", 1)[1]] = value
    else:
        data[field] = value
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS, ids=[f"{f}={v!r}" for f, v in BAD_FIELDS])
def test_bad_field_is_an_error_naming_file_and_field(tmp_path: Path, field: str, value: object) -> None:
    path = _write(tmp_path, field, value)
    with pytest.raises(RecipeError) as error:
        load_recipe(path)
    message = str(error.value)
    assert message.startswith(f"{path}:")
    assert field.rsplit(".", 1)[-1] in message
    assert "\n" not in message


def test_builder_recipes_load() -> None:
    for path in sorted(BUILDERS.glob("*.yaml")):
        recipe = load_recipe(path)
        assert isinstance(recipe.test_fraction, float) and recipe.negatives_per_state >= 1


def test_whole_number_for_a_number_field_is_held_as_a_float(tmp_path: Path) -> None:
    path = _write(tmp_path, "min_displacement", 0)
    assert load_recipe(path).min_displacement == 0.0 and isinstance(load_recipe(path).min_displacement, float)


def test_recipes_built_in_code_are_checked_too() -> None:
    with pytest.raises(RecipeError, match="negatives_per_state"):
        replace(BuildRecipe(), negatives_per_state=0)
    with pytest.raises(RecipeError, match="source.width"):
        SourceSpec(width=0)
    with pytest.raises(RecipeError, match="--manuals/--seed.*source.manuals"):
        BuildRecipe().with_overrides(manuals=0)


def test_unreadable_recipe_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="cannot read"):
        load_recipe(tmp_path)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00name: x")
    with pytest.raises(RecipeError, match="binary.yaml"):
        load_recipe(binary)


def test_build_with_a_bad_recipe_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "name", "../../escape")
    out = tmp_path / "out" / "built"
    assert main(["build", str(path), "--out", str(out)]) == 2
    assert "field 'name'" in error_printed(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]
    with pytest.raises(SystemExit) as refused:  # refused by the option's own type, before any work
        main(["build", str(BUILDERS / "quickstart.yaml"), "--out", str(out), "--manuals", "-1"])
    assert refused.value.code == 2
    assert not (tmp_path / "out").exists()


def test_negatives_and_scene_pairing_load_as_written_and_round_trip(tmp_path: Path) -> None:
    path = _write(tmp_path, "negatives", ["undo", "displaced"])
    recipe = load_recipe(path)
    assert recipe.negatives == ("undo", "displaced") and recipe.to_dict()["negatives"] == ["undo", "displaced"]
    assert load_recipe(_write(tmp_path, "scene_pairing", "every_step")).scene_pairing == "every_step"
    assert load_recipe(BUILDERS / "study.yaml").negatives == ("displaced",)
    assert load_recipe(BUILDERS / "crawled.yaml").negatives == ("displaced",)
    assert BuildRecipe().negatives == load_recipe(BUILDERS / "quickstart.yaml").negatives
    assert "displaced" not in BuildRecipe().negatives and BuildRecipe().scene_pairing == "strict"
