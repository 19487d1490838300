"""The file names of a built dataset folder, shared by the builder and by everything that reads it.

What ``lego-arta build`` writes (the Hugging Face Hub dataset layout)::

    README.md                                   the dataset card: configs table, dataset_info
    manifest.json                               every file's size and sha256, counts, skips
    <config>/<split>-0000i-of-0000N.parquet     Hub Parquet shards, images embedded (their one copy)

and what ``lego-arta export llava BUILT --out DIR`` writes from it for LLaVA-style trainers::

    manifest.json                               every file's sha256, and the build it came from
    llava/<split>.json                          LLaVA conversations of all configs merged
    llava/images/<row id>.png                   the images those conversations point at

The builder (``dataset``), the uploader (``push``), scoring (``evaluation``), the harness and
fine-tuning all find files by these names; keeping them here (as :mod:`lego_arta.source.layout`
is for raw manuals) means a reader cannot drift from the writer.

>>> shard_name("test", 0, 2)
'test-00000-of-00002.parquet'
>>> llava_json_name("train"), f"{LLAVA_DIR}/{LLAVA_IMAGES_DIR}/{llava_image_name('state-00a1')}"
('train.json', 'llava/images/state-00a1.png')
"""

from __future__ import annotations

from lego_arta.atomic import OutputKind

#: The dataset card; ``datasets`` reads a local folder's configs from its front matter.
README = "README.md"
#: Every file of the build with its size and sha256, written last; ``push`` verifies against it.
MANIFEST = "manifest.json"
#: A build folder: its manifest names ``lego-arta build`` (one from before markers named their kind has a recipe, no ``exported_from``).
BUILD_OUTPUT = OutputKind("build", MANIFEST, legacy=lambda record: "recipe" in record and "exported_from" not in record)
#: An export folder: its manifest names ``lego-arta export llava`` (or, older, has ``exported_from``).
EXPORT_OUTPUT = OutputKind("export llava", MANIFEST, legacy=lambda record: "exported_from" in record)
#: Folder of the LLaVA conversations and their images (fine-tuning reads it; the Hub card does not).
LLAVA_DIR = "llava"
#: Folder of the LLaVA images, inside :data:`LLAVA_DIR`.
LLAVA_IMAGES_DIR = "images"


def shard_name(split: str, index: int, total: int) -> str:
    """File name of a split's Parquet shard, numbered as ``push_to_hub`` numbers them."""
    return f"{split}-{index:05d}-of-{total:05d}.parquet"


def llava_json_name(split: str) -> str:
    """File name (inside :data:`LLAVA_DIR`) of a split's LLaVA conversations."""
    return f"{split}.json"


def llava_image_name(row_id: str) -> str:
    """File name (inside :data:`LLAVA_IMAGES_DIR`) of a row's image."""
    return f"{row_id}.png"
