"""Loading a build with ``datasets`` 5.2: the Hub-layout folder, the loading script's builder class,
and a rebuild into the same folder (``datasets`` must not serve the previous build from its cache)."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.dataset.built_folder import CONFIGS, SPLITS, read_rows

LOADING_SCRIPT = Path(__file__).resolve().parents[2] / "lego_arta.py"
#: The module name the loading script is imported under (not ``lego_arta``: that is the package).
SCRIPT_MODULE = "lego_arta_builder"


def _undecoded(dataset):
    """Rows as plain values, images as their stored ``{"bytes", "path"}`` (not decoded)."""
    import datasets

    return dataset.cast_column("image", datasets.Image(decode=False)).to_list()


def _card_yaml(folder: Path) -> dict:
    return yaml.safe_load((folder / "README.md").read_text(encoding="utf-8").split("---\n")[1])


def test_load_dataset_gives_back_exactly_the_parquet_rows(built_dataset: Path, tmp_path: Path) -> None:
    import datasets

    for config in CONFIGS:
        for split in SPLITS:
            loaded = datasets.load_dataset(str(built_dataset), config, split=split, cache_dir=str(tmp_path))
            stored = read_rows(built_dataset, config, split)
            assert loaded.num_rows == len(stored) > 0, (config, split)
            assert loaded.column_names == list(stored[0]), (config, split)
            assert _undecoded(loaded) == stored, (config, split)
            features = loaded.features
            assert isinstance(features["image"], datasets.Image)
            image = loaded[0]["image"]
            # Scene and state images are stored as the manual stores its assembly images (RGBA, opaque,
            # as the site serves them); object collages are RGB. Either way, nothing is transparent.
            assert image.mode == ("RGB" if config == "object" else "RGBA"), (config, image.mode)
            assert image.mode == "RGB" or image.getchannel("A").getextrema() == (255, 255)
            if config == "state":
                assert features["label"] == datasets.Value("bool")
                assert isinstance(loaded[0]["label"], bool)
            if config == "object":
                assert features["box"] == datasets.List(datasets.Value("float32"), length=4)
                assert all(len(box) == 4 for box in loaded["box"])


def test_card_declares_every_config_and_split_with_its_size(built_dataset: Path) -> None:
    card = _card_yaml(built_dataset)
    manifest = json.loads((built_dataset / "manifest.json").read_text())
    assert {c["config_name"] for c in card["configs"]} == set(CONFIGS)
    for info in card["dataset_info"]:
        config = info["config_name"]
        assert {s["name"]: s["num_examples"] for s in info["splits"]} == manifest["counts"][config]
        assert manifest["fingerprints"][config] in info["description"]
    readme = (built_dataset / "README.md").read_text(encoding="utf-8")
    assert f"synthetic, {len(manifest['manuals'])} manuals" in readme, "the card counts the manuals read, not the recipe's"


def _import_loading_script() -> ModuleType:
    """``lego_arta.py`` as a module registered in ``sys.modules`` (the builder re-imports its own module)."""
    if SCRIPT_MODULE not in sys.modules:
        spec = importlib.util.spec_from_file_location(SCRIPT_MODULE, LOADING_SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[SCRIPT_MODULE] = module
        spec.loader.exec_module(module)
    return sys.modules[SCRIPT_MODULE]


@pytest.mark.slow
def test_loading_script_builds_the_same_rows_as_lego_arta_build(
    built_dataset: Path, built_recipe, synthetic_raw: Path, tmp_path: Path
) -> None:
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(built_recipe.to_dict()), encoding="utf-8")
    module = _import_loading_script()
    for config in CONFIGS:
        builder = module.LegoArta(
            config_name=config, data_dir=str(synthetic_raw), recipe=str(recipe_file), cache_dir=str(tmp_path / "cache")
        )
        builder.download_and_prepare()
        for split in SPLITS:
            generated = _undecoded(builder.as_dataset(split=split))
            assert generated == read_rows(built_dataset, config, split), (config, split)


def test_loading_script_uses_the_pipeline_not_a_copy_of_it() -> None:
    source = LOADING_SCRIPT.read_text(encoding="utf-8")
    assert "build_pairs" in source and "read_and_split" in source
    for private in ("make_collage", "make_negatives", "split_manuals", "ShardedParquetWriter", "pair_id"):
        assert private not in source, f"lego_arta.py re-implements {private}; call lego_arta.dataset instead"


@pytest.mark.slow
def test_a_rebuild_into_the_same_folder_is_loaded_fresh(synthetic_raw: Path, built_recipe, tmp_path: Path) -> None:
    """Two builds whose cards differ only in the data fingerprint: ``datasets`` must see the new rows."""
    import datasets

    from lego_arta.dataset.pipeline import build
    from lego_arta.dataset.splits import split_manuals

    recipe = replace(built_recipe, configs=("scene",))
    manuals = sorted(p.name for p in synthetic_raw.iterdir() if p.is_dir())
    first = split_manuals(manuals, test_fraction=recipe.test_fraction, seed=recipe.seed)
    other = next(
        s for s in range(recipe.seed + 1, recipe.seed + 100) if split_manuals(manuals, test_fraction=recipe.test_fraction, seed=s) == first
    )
    folder, cache = tmp_path / "lego-arta", str(tmp_path / "cache")
    build(recipe, folder, raw=synthetic_raw, progress=False)
    before = datasets.load_dataset(str(folder), "scene", split="train", cache_dir=cache)["id"]
    old_card = _card_yaml(folder)
    build(replace(recipe, seed=other), folder, raw=synthetic_raw, overwrite=True, progress=False)
    new_card = _card_yaml(folder)
    stored = [row["id"] for row in read_rows(folder, "scene", "train")]
    assert stored != before, "another seed gives other ids"
    for card in (old_card, new_card):
        for info in card["dataset_info"]:
            info.pop("description")
    assert old_card == new_card, "only the fingerprint tells the two cards apart, as in a real stale-cache case"
    assert datasets.load_dataset(str(folder), "scene", split="train", cache_dir=cache)["id"] == stored
