"""LEGO-ARTA ``datasets`` builder: configs ``scene``, ``object`` and ``state`` with train/test splits.

A thin adapter over :mod:`lego_arta.dataset` (the same code as ``lego-arta build``), for two kinds of
users:

* ``datasets`` < 4.0, which still runs loading scripts::

      load_dataset("path/to/lego_arta.py", "state", data_dir="raw_manuals/")

* current ``datasets`` (scripts are gone since 4.0): use the class directly, imported under a name
  registered in ``sys.modules`` (the builder re-imports its own module; not ``lego_arta``, the
  package's name)::

      import importlib.util, sys
      spec = importlib.util.spec_from_file_location("lego_arta_builder", "path/to/lego_arta.py")
      module = sys.modules["lego_arta_builder"] = importlib.util.module_from_spec(spec)
      spec.loader.exec_module(module)
      builder = module.LegoArta(config_name="state", data_dir="raw_manuals/", cache_dir="cache/")
      builder.download_and_prepare(); ds = builder.as_dataset()

It yields exactly the rows ``lego-arta build`` writes for the same recipe and raw manuals (same
ids, images and order): both call :func:`lego_arta.dataset.pipeline.read_and_split` and
:func:`lego_arta.dataset.pipeline.build_pairs`.

Without ``data_dir`` the quick-start synthetic manuals are generated (deterministically) first.
Prefer the prebuilt Hub layout (``load_dataset(<built folder>, "state")``) when you have one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import datasets

from lego_arta import CITATION, __version__
from lego_arta.dataset.pipeline import build_pairs, read_and_split, resolve_raw
from lego_arta.dataset.recipe import BuildRecipe, load_recipe
from lego_arta.parse.manual import Manual
from lego_arta.tasks import TASKS, get_task

_DESCRIPTION = "LEGO-ARTA: scene, object and state VQA tasks built from step-by-step LEGO assembly manuals."


@dataclass
class LegoArtaConfig(datasets.BuilderConfig):
    """One task; ``recipe`` (a YAML path) and ``grounder`` override the quick-start defaults."""

    recipe: str | None = None
    grounder: str | None = None
    workers: int = 1


class LegoArta(datasets.GeneratorBasedBuilder):
    BUILDER_CONFIG_CLASS = LegoArtaConfig
    BUILDER_CONFIGS = [
        LegoArtaConfig(name=name, version=datasets.Version(__version__), description=f"LEGO-ARTA {name}: {spec.description}")
        for name, spec in TASKS.items()
    ]
    DEFAULT_CONFIG_NAME = "scene"

    def _recipe(self) -> BuildRecipe:
        recipe = load_recipe(self.config.recipe) if self.config.recipe else BuildRecipe()
        recipe = replace(recipe, configs=(self.config.name,), require=tuple(c for c in recipe.require if c == self.config.name))
        return replace(recipe, grounder=self.config.grounder) if self.config.grounder else recipe

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(description=_DESCRIPTION, features=get_task(self.config.name).all_features(), citation=CITATION)

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        recipe = self._recipe()
        cache = Path(self.cache_dir) / "raw"
        raw = Path(self.config.data_dir) if self.config.data_dir else resolve_raw(recipe, cache / "build", progress=False)
        manuals, splits, votes, _ = read_and_split(raw, recipe)
        return [
            datasets.SplitGenerator(
                name=split, gen_kwargs={"manuals": [m for m in manuals if splits[m.manual_id] == split], "recipe": recipe, "votes": votes}
            )
            for split in (datasets.Split.TRAIN, datasets.Split.TEST)
            if str(split) in get_task(self.config.name).splits
        ]

    def _generate_examples(self, manuals: list[Manual], recipe: BuildRecipe, votes: dict):
        for pairs in build_pairs(manuals, recipe, workers=self.config.workers, progress=False, votes=votes):
            for row in pairs.rows.get(self.config.name, []):
                yield row["id"], row
