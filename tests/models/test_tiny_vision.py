"""The tiny vision encoders of ``lego-arta tiny-model --kind vit|dinov2``: written offline, loaded by
the probe's backbone loader, reproducible; and the probe's one-line refusals (a VLM as backbone,
a CUDA device on a torch without CUDA)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from lego_arta.cli import main
from lego_arta.models.tiny_vision import TINY_VISION_RECORD, TinyVisionSpec, build_tiny_vision
from lego_arta.probe.backbone import Backbone, resolve_device
from tests.support.cli import error_printed
from tests.support.folders import folder_files


@pytest.mark.parametrize("kind", ["vit", "dinov2"])
def test_tiny_model_kind_writes_an_encoder_the_probe_backbone_loads(kind: str, tmp_path: Path) -> None:
    assert main(["tiny-model", "--kind", kind, "--out", str(tmp_path / "a")]) == 0
    backbone = Backbone(tmp_path / "a")
    images = [np.zeros((40, 60, 3), np.uint8), np.full((473, 1024, 3), 200, np.uint8)]
    tokens = backbone.encode(images)
    assert tokens.shape == (2, 17, 32) and backbone.has_cls and tokens.dtype == torch.float32  # 1 CLS + (32/8)^2 patches
    assert not torch.equal(tokens[0], tokens[1])
    assert main(["tiny-model", "--kind", kind, "--out", str(tmp_path / "b")]) == 0
    assert folder_files(tmp_path / "a") == folder_files(tmp_path / "b")  # same seed: byte-identical, one feature cache
    assert main(["tiny-model", "--kind", kind, "--seed", "1", "--out", str(tmp_path / "c")]) == 0
    assert folder_files(tmp_path / "c")["model.safetensors"] != folder_files(tmp_path / "a")["model.safetensors"]


def test_overwrite_replaces_only_a_tiny_vision_folder(tmp_path: Path) -> None:
    folder = build_tiny_vision(tmp_path / "vit", TinyVisionSpec())
    with pytest.raises(FileExistsError):
        build_tiny_vision(folder, TinyVisionSpec(seed=1))
    build_tiny_vision(folder, TinyVisionSpec(seed=1), overwrite=True)
    assert '"seed": 1' in (folder / TINY_VISION_RECORD).read_text()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match=f"holds no {TINY_VISION_RECORD}"):
        build_tiny_vision(tmp_path / "mine", TinyVisionSpec(), overwrite=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


def test_bad_tiny_vision_shapes_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="multiple of patch_size"):
        TinyVisionSpec(image_size=30)
    with pytest.raises(ValueError, match="expected one of vit, dinov2"):
        TinyVisionSpec(kind="llava")


def test_a_vlm_as_probe_backbone_is_a_one_line_error_naming_it_and_what_works(tmp_path: Path) -> None:
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    folder = tmp_path / "llava"  # the config is all the refusal reads: no weights needed
    tiny = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2}
    LlavaConfig(vision_config=CLIPVisionConfig(**tiny), text_config=LlamaConfig(**tiny)).save_pretrained(folder)
    with pytest.raises(ValueError) as error:
        Backbone(folder)
    message = str(error.value)
    assert "\n" not in message and repr(str(folder)) in message and "llava" in message
    assert "ViT, DINOv2" in message and "tiny-model --kind vit" in message


@pytest.mark.slow
def test_probe_on_the_tiny_llava_names_the_backbone_in_one_line(
    tmp_path: Path, built_dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    llava = tmp_path / "tiny-llava"
    assert main(["tiny-model", "--out", str(llava)]) == 0
    capsys.readouterr()
    args = [
        "probe",
        "--backbone",
        str(llava),
        "--data",
        str(built_dataset),
        "--task",
        "state",
        "--probe",
        "linear",
        "--device",
        "cpu",
        "--cache",
        str(tmp_path / "cache"),
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(args) == 2
    printed = "".join(error_printed(capsys).split())
    assert printed.startswith("error:backbone") and "".join(str(llava).split()) in printed and "vision-languagemodel" in printed
    assert printed.count("error:") == 1 and "Traceback" not in printed and not (tmp_path / "out").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this torch has CUDA: the refusal is for CPU-only torch")
def test_device_cuda_on_cpu_torch_is_a_one_line_error_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match=r"device 'cuda': this torch \(.*\) is built without CUDA; use --device cpu"):
        resolve_device("cuda")
    args = ["probe", "--backbone", str(tmp_path), "--data", str(tmp_path), "--device", "cuda", "--out", str(tmp_path / "out")]
    assert main(args) == 2
    printed = " ".join(error_printed(capsys).split())
    assert printed.startswith("error: device 'cuda'") and printed.endswith("use --device cpu (or auto)") and not (tmp_path / "out").exists()


def test_auto_and_cpu_devices_resolve_and_nonsense_is_refused() -> None:
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"
    with pytest.raises(ValueError, match="not a torch device"):
        resolve_device("gpu0")
