"""What data an adapter was trained on, as checksums: so a result can be traced to the exact build.

The fingerprint holds the SHA-256 of the conversations JSON, of every image the selected samples
use, and of the selected sample ids. Image checksums come from the build's ``manifest.json`` when
the JSON still matches it (hashing a study-scale build's 11.8 GB again would take minutes);
otherwise they are computed.

Not run as a doctest: it needs a build.

>>> data_fingerprint(load_conversations(Path("out/built")))["fingerprint"]   # doctest: +SKIP
'9c0f…'
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from lego_arta.checksum import sha256_file
from lego_arta.dataset.layout import LLAVA_DIR, MANIFEST
from lego_arta.finetune.data import ConversationSet


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("".join(f"{line}\n" for line in lines).encode("utf-8")).hexdigest()


def _manifest_checksums(source: Path, json_sha256: str) -> dict[str, str] | None:
    """{path relative to ``llava/``: sha256} when ``source`` sits in a build whose manifest vouches for it."""
    root = source.parent.parent
    manifest_path = root / MANIFEST
    if source.parent.name != LLAVA_DIR or not manifest_path.is_file():
        return None
    try:
        files = json.loads(manifest_path.read_text(encoding="utf-8")).get("files", {})
    except (json.JSONDecodeError, AttributeError):
        return None
    prefix = f"{LLAVA_DIR}/"
    checksums = {
        name[len(prefix) :]: entry.get("sha256") for name, entry in files.items() if name.startswith(prefix) and isinstance(entry, dict)
    }
    return checksums if checksums.get(source.name) == json_sha256 else None


def data_fingerprint(conversations: ConversationSet) -> dict[str, Any]:
    """Checksums of the training data actually used, plus one ``fingerprint`` over all of them.

    The same data gives the same fingerprint whether the image checksums were read from the
    manifest or computed.
    """
    source = conversations.source.resolve()
    json_sha256 = sha256_file(source)
    names = sorted({Path(os.path.relpath(path, source.parent)).as_posix() for sample in conversations.samples for path in sample.images})
    recorded = _manifest_checksums(source, json_sha256)
    if recorded is not None and not all(name in recorded for name in names):
        recorded = None
    checksums = recorded if recorded is not None else {name: sha256_file(source.parent / name) for name in names}
    ids = [sample.id for sample in conversations.samples]
    fingerprint: dict[str, Any] = {
        "conversations": {"file": source.name, "sha256": json_sha256},
        "images": {"count": len(names), "sha256": _digest([f"{name}\t{checksums[name]}" for name in names])},
        "samples": {
            "count": len(ids),
            "ids_sha256": _digest(ids),
            "tasks": conversations.task_counts(),
            "left_out": conversations.left_out,
        },
    }
    fingerprint["fingerprint"] = _digest([json.dumps(fingerprint, sort_keys=True)])
    fingerprint["images"]["checksums_from"] = MANIFEST if recorded is not None else "files"
    return fingerprint
