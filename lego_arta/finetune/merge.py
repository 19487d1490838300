"""Fold a LoRA adapter into its base model and save a plain model folder any HF wrapper can load.

lmms-eval's model wrappers (``llava_hf``, ``qwen2_vl`` …) load ``pretrained=<folder>`` with
``from_pretrained`` and know nothing about peft, so the "w/ LoRA" row of the study is evaluated
from a merged copy: base weights + ``B @ A * alpha / r`` in every adapted layer, saved with the
processor the adapter was trained with.

Not run as a doctest: it needs a Hub model and an adapter.

>>> prepare_model_for_eval("llava-hf/llava-1.5-7b-hf", Path("out/lora"), Path("out/eval-work"))  # doctest: +SKIP
'out/eval-work/merged'
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from lego_arta.atomic import OutputKind, atomic_directory, atomic_write_text, check_output_folder, output_lock
from lego_arta.checksum import sha256_file

logger = logging.getLogger(__name__)

ADAPTER_CONFIG = "adapter_config.json"
#: The run folder written by ``lego-arta finetune`` keeps its final adapter here.
RUN_ADAPTER_DIR = "adapter"
MERGED_DIR = "merged"
#: Written into a merged folder: which base and adapter it came from (and lets a re-run reuse it).
MERGE_RECORD = "merged_from.json"
#: A merged model folder (only ``merge`` writes :data:`MERGE_RECORD`, so an older one without a kind is one too).
MERGE_OUTPUT = OutputKind("merge", MERGE_RECORD, legacy=lambda record: True)
PROCESSOR_FILES = ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json")


def find_adapter(path: Path) -> Path:
    """The adapter folder behind ``path``: the folder itself, or a run folder's ``adapter/``."""
    path = Path(path)
    for candidate in (path, path / RUN_ADAPTER_DIR):
        if (candidate / ADAPTER_CONFIG).is_file():
            return candidate
    raise FileNotFoundError(f"{path}: no {ADAPTER_CONFIG} (expected a LoRA adapter folder or a `lego-arta finetune` output folder)")


def adapter_base_model(adapter: Path) -> str:
    """The base model id or path recorded in the adapter's config."""
    config_path = find_adapter(adapter) / ADAPTER_CONFIG
    base = json.loads(config_path.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise ValueError(f"{config_path}: no base_model_name_or_path; pass the base model explicitly")
    return str(base)


def _has_processor(folder: Path) -> bool:
    return any((folder / name).is_file() for name in PROCESSOR_FILES)


def _adapter_digest(adapter: Path) -> str:
    return sha256_file(adapter / "adapter_model.safetensors")


def merge_adapter(adapter: Path, out_dir: Path, *, base: str | None = None, dtype: str = "auto", overwrite: bool = False) -> Path:
    """Merge ``adapter`` into ``base`` (default: the base the adapter names) and save to ``out_dir``.

    The folder gets the merged weights in the base's dtype, the processor (the adapter's own
    copy when it has one: it holds the chat template training used) and :data:`MERGE_RECORD`.
    """
    import torch
    from peft import PeftModel

    from lego_arta.finetune.vlm import load_model, load_processor

    with output_lock(Path(out_dir)):  # one writer per output folder, from the check to the swap
        check_output_folder(Path(out_dir), overwrite=overwrite, owner=MERGE_OUTPUT)
        adapter = find_adapter(adapter)
        base = base or adapter_base_model(adapter)
        model = load_model(base, dtype=dtype)
        merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
        processor = load_processor(adapter if _has_processor(adapter) else base)
        record = {
            "base": base,
            "adapter": str(adapter.resolve()),
            "adapter_sha256": _adapter_digest(adapter),
            "dtype": str(next(merged.parameters()).dtype),
        }
        with atomic_directory(Path(out_dir), overwrite=overwrite, owner=MERGE_OUTPUT) as tmp, torch.no_grad():
            merged.save_pretrained(tmp)
            processor.save_pretrained(tmp)
            atomic_write_text(tmp / MERGE_RECORD, json.dumps(MERGE_OUTPUT.stamp(record), indent=1, sort_keys=True) + "\n")
    return Path(out_dir)


def _is_current_merge(folder: Path, base: str, adapter: Path) -> bool:
    record_path = folder / MERGE_RECORD
    if not record_path.is_file():
        return False
    record = json.loads(record_path.read_text(encoding="utf-8"))
    return record.get("base") == base and record.get("adapter_sha256") == _adapter_digest(adapter)


def prepare_model_for_eval(model: str, adapter: Path | None, work_dir: Path) -> str:
    """The ``pretrained=`` value for the harness: ``model`` itself, or base + adapter merged.

    With an adapter, the merge goes to ``work_dir/merged`` (reused when it already holds this
    base with this exact adapter) and that path is returned.
    """
    if adapter is None:
        return model
    adapter = find_adapter(Path(adapter))
    target = Path(work_dir) / MERGED_DIR
    if _is_current_merge(target, model, adapter):
        logger.info("reusing merged model %s", target)
    else:
        merge_adapter(adapter, target, base=model, overwrite=True)
    return str(target.resolve())


def model_args_with_adapter(model_args: str, adapter: Path | None, work_dir: Path) -> str:
    """lmms-eval ``model_args`` with ``pretrained=`` pointing at base + ``adapter`` merged.

    The base is the ``pretrained=`` value (or, when absent, the base the adapter names); other
    arguments keep their order. Without an adapter the string comes back unchanged; with one, the
    example is not run here (it merges a real model with its adapter):

    >>> model_args_with_adapter("pretrained=llava-hf/llava-1.5-7b-hf,device=cuda", None, Path("out/eval"))
    'pretrained=llava-hf/llava-1.5-7b-hf,device=cuda'
    >>> model_args_with_adapter("pretrained=llava-hf/llava-1.5-7b-hf,device=cuda", Path("out/lora"), Path("out/eval"))  # doctest: +SKIP
    'pretrained=/abs/out/eval/merged,device=cuda'
    """
    if adapter is None:
        return model_args
    pairs = [part.split("=", 1) if "=" in part else [part, ""] for part in model_args.split(",") if part.strip()]
    keys = [key.strip() for key, _ in pairs]
    base = pairs[keys.index("pretrained")][1].strip() if "pretrained" in keys else adapter_base_model(adapter)
    merged = prepare_model_for_eval(base, adapter, work_dir)
    if "pretrained" in keys:
        pairs[keys.index("pretrained")] = ["pretrained", merged]
    else:
        pairs.insert(0, ["pretrained", merged])
    return ",".join(f"{key}={value}" if value or key == "pretrained" else key for key, value in pairs)
