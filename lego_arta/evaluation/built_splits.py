"""Read one split of a built dataset for scoring: the columns asked for, images decoded on demand.

A local build folder is read straight from its Parquet shards, the ones its ``README.md``
``configs:`` table lists, and never through the ``datasets`` cache: datasets 5.2 keys the cache
of a local Hub-layout folder by its README alone (patterns and ``dataset_info``), not by the
files' contents or modification times, so after a rebuild with the same card — or for another
folder of the same name — ``load_dataset`` serves the old rows. Scores must come from the files
on disk. A Hub dataset id (``owner/name``) goes through ``datasets.load_dataset``, whose Hub cache
is keyed by the commit.

Not run as a doctest: it needs a build.

>>> columns = read_columns("out/quickstart/lego-arta", "state", "test", ["id", "label"])  # doctest: +SKIP
>>> len(columns["id"]) == len(columns["label"])                                          # doctest: +SKIP
True
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image

from lego_arta.dataset.layout import README

#: Rows decoded at a time when images are streamed from a shard.
IMAGE_BATCH_ROWS = 32
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.DOTALL)


#: ``owner/name`` of a Hugging Face Hub dataset.
HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def is_local(data: Path | str) -> bool:
    """Whether ``data`` is a local folder; ``False`` for a Hub id; an error for anything else."""
    path = Path(data).expanduser()
    if path.is_dir():
        return True
    if path.exists():
        raise ValueError(f"{path}: expected a built dataset folder, got a file")
    if HUB_ID.fullmatch(str(data)):
        return False
    raise FileNotFoundError(f"dataset folder {data} does not exist (nor is it a Hub dataset id owner/name)")


def _hub_split(data: Path | str, config: str, split: str) -> Any:
    """One split of a Hub dataset through ``datasets`` (cached per commit), with a clear error."""
    import datasets

    try:
        return datasets.load_dataset(str(data), config, split=split)
    except (OSError, ValueError, ConnectionError) as error:
        raise ValueError(
            f"{data}: no local folder of that name, and the Hub dataset cannot be loaded ({config}, {split}): {error}"
        ) from error


def _card_configs(folder: Path) -> list[dict[str, Any]]:
    readme = folder / README
    if not readme.is_file():
        raise FileNotFoundError(f"{folder}: not a built LEGO-ARTA dataset (no README.md with a configs: table)")
    match = _FRONT_MATTER.match(readme.read_text(encoding="utf-8"))
    try:
        header = yaml.safe_load(match.group(1)) if match else None
    except yaml.YAMLError as error:
        raise ValueError(f"{readme}: the YAML header does not parse ({error})") from error
    configs = header.get("configs") if isinstance(header, dict) else None
    if not isinstance(configs, list):
        raise ValueError(f"{readme}: no 'configs:' list in the YAML header")
    return [c for c in configs if isinstance(c, dict)]


def config_names(data: Path | str) -> tuple[str, ...]:
    """The config names a built dataset declares (local card, or the Hub's list)."""
    if is_local(data):
        return tuple(str(c.get("config_name", "default")) for c in _card_configs(Path(data).expanduser()))
    import datasets

    return tuple(datasets.get_dataset_config_names(str(data)))


def split_files(folder: Path, config: str, split: str) -> list[Path]:
    """Parquet shards of one config and split, from the card's ``data_files`` patterns."""
    folder = Path(folder).expanduser()
    configs = {str(c.get("config_name", "default")): c for c in _card_configs(folder)}
    if config not in configs:
        raise ValueError(f"{folder}: no config {config!r} in README.md (it has {', '.join(sorted(configs)) or 'none'})")
    data_files = configs[config].get("data_files") or []
    entries = [data_files] if isinstance(data_files, (str, dict)) else list(data_files)
    patterns = []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("split") == split:
            paths = entry.get("path")
            patterns += [paths] if isinstance(paths, str) else list(paths or [])
    if not patterns:
        raise ValueError(f"{folder}: config {config!r} has no {split!r} split in README.md")
    files = sorted({path for pattern in patterns for path in folder.glob(pattern) if fnmatch(path.name, "*.parquet")})
    if not files:
        raise FileNotFoundError(f"{folder}: no Parquet files match {patterns} ({config}, {split})")
    return files


def read_columns(data: Path | str, config: str, split: str, columns: Sequence[str]) -> dict[str, list[Any]]:
    """The named columns of one split, as Python lists in storage order (shards in name order)."""
    if not is_local(data):
        table = _hub_split(data, config, split)
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise ValueError(f"{data} ({config}, {split}): no column(s) {', '.join(missing)}")
        return table.select_columns(list(columns)).to_dict()
    import pyarrow.parquet as pq

    merged: dict[str, list[Any]] = {name: [] for name in columns}
    for path in split_files(Path(data), config, split):
        available = pq.read_schema(path).names
        missing = [c for c in columns if c not in available]
        if missing:
            raise ValueError(f"{path}: no column(s) {', '.join(missing)}; is this a {config} split?")
        table = pq.read_table(path, columns=list(columns))
        for name in columns:
            merged[name] += table.column(name).to_pylist()
    return merged


def decode_image(cell: Any) -> np.ndarray:
    """An ``H×W×3`` uint8 RGB array from a ``datasets`` image cell (``{"bytes", "path"}`` or PIL)."""
    if isinstance(cell, Image.Image):
        return np.asarray(cell.convert("RGB"))
    if isinstance(cell, dict) and cell.get("bytes"):
        with Image.open(io.BytesIO(cell["bytes"])) as image:
            return np.asarray(image.convert("RGB"))
    if isinstance(cell, dict) and cell.get("path"):
        with Image.open(cell["path"]) as image:
            return np.asarray(image.convert("RGB"))
    raise ValueError(f"image cell holds neither bytes nor a path: {type(cell).__name__}")


def iter_images(data: Path | str, config: str, split: str) -> Iterator[np.ndarray]:
    """The split's images in storage order, decoded one batch at a time (a study-scale split of
    collages would not fit in memory decoded)."""
    if not is_local(data):
        for row in _hub_split(data, config, split).select_columns(["image"]):
            yield decode_image(row["image"])
        return
    import pyarrow.parquet as pq

    for path in split_files(Path(data), config, split):
        shard = pq.ParquetFile(path)
        if "image" not in shard.schema_arrow.names:
            raise ValueError(f"{path}: no image column")
        for batch in shard.iter_batches(batch_size=IMAGE_BATCH_ROWS, columns=["image"]):
            for cell in batch.column(0).to_pylist():
                yield decode_image(cell)
