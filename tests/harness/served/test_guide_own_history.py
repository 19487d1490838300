"""Own-history guide episodes against a real ``transformers serve`` of the tiny model (loopback)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from lego_arta.harness.conversation import openai_chat, run_own_history


@pytest.mark.slow
def test_own_history_episodes_run_against_a_served_chat_endpoint(
    served: Any, tmp_path: Path, synthetic_raw: Path, built_recipe: Any
) -> None:
    from lego_arta.dataset.pipeline import build

    data = tmp_path / "lego-arta"
    build(replace(built_recipe, configs=("guide",)), data, raw=synthetic_raw, progress=False)
    path = run_own_history(data, openai_chat(served.url, served.model, max_tokens=8), tmp_path / "own.jsonl", limit=3)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    rows = {row["id"]: row for row in pq.read_table(sorted((data / "guide").glob("test-*.parquet"))).drop(["image"]).to_pylist()}
    assert lines and all(line["mode"] == "own_history" and line["id"] in rows for line in lines)
    assert len({rows[line["id"]]["episode"] for line in lines}) == 3
    # The first turn of every episode was asked and answered by the server (the tiny model says something).
    assert all(line["answer"] for line in lines if rows[line["id"]]["turn"] == "verdict")
