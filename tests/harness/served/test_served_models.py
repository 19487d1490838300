"""lmms-eval's own API backends (``openai``, ``async_openai``) run the tasks against a real ``transformers serve``.

The requests pass the fault proxy (with no fault planned) so the test sees them at the server
side: images go as PNG data URLs, one request per sample.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.harness.served.conftest import Server
from tests.support.cli import run_command
from tests.support.fault_proxy import FaultProxy

pytestmark = pytest.mark.slow

LIMIT = 2


def _images(body: bytes) -> list[Image.Image]:
    """The images of a chat request, decoded from their data URLs."""
    images = []
    for message in json.loads(body)["messages"]:
        for part in message["content"] if isinstance(message["content"], list) else ():
            if part["type"] == "image_url":
                head, _, data = part["image_url"]["url"].partition(",")
                assert head == "data:image/png;base64", head
                images.append(Image.open(io.BytesIO(base64.b64decode(data))))
    return images


@pytest.mark.parametrize(
    ("backend", "tasks", "images_per_request"),
    [
        ("openai", "lego_arta,lego_arta_state_syn_noctx", {1}),
        ("async_openai", "lego_arta_order,lego_arta_object_icl", {2, 3}),
    ],
)
def test_lmms_eval_api_backends_run_the_tasks_against_transformers_serve(
    backend: str,
    tasks: str,
    images_per_request: set[int],
    served: Server,
    proxy: FaultProxy,
    api_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    out = tmp_path / "eval"
    argv = [
        "--data",
        str(api_env),
        "--model",
        backend,
        "--model-args",
        f"model={served.model},base_url={proxy.url}",
        "--tasks",
        tasks,
        "--out",
        str(out),
        "--limit",
        str(LIMIT),
    ]
    assert run_command("eval", argv) == 0, capsys.readouterr().err
    results_path = next(out.rglob("*_results.json"))
    results = json.loads(results_path.read_text())
    expected = [t for t in results["results"] if t != "lego_arta"]
    assert results["config"]["model"] == backend
    for task in expected:
        assert results["n-samples"][task]["effective"] == LIMIT
        samples = list(out.rglob(f"*_samples_{task}.jsonl"))
        assert len(samples) == 1 and len(samples[0].read_text().splitlines()) == LIMIT
    seen = proxy.requests()
    assert len(seen) == LIMIT * len(expected), "one request per sample, nothing retried"
    assert all(s.status == 200 for s in seen)
    counts = {len(_images(s.body)) for s in seen}
    assert counts <= images_per_request | {1}, counts
    assert max(counts) == max(images_per_request)
