"""Rows kept on disk until their split is known (:class:`lego_arta.dataset.export.TableSpill`)."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.dataset.export import ROW_GROUP_SIZE, TableSpill, encode_rows
from lego_arta.tasks import get_task

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


def _state_rows(draw: st.DrawFn, count: int) -> list[dict]:
    """``count`` rows cycling through a few drawn texts, images and numbers (more rows than a row group holds)."""
    texts = draw(st.lists(_TEXT, min_size=1, max_size=4))
    images = draw(st.lists(st.binary(max_size=300), min_size=1, max_size=3))
    numbers = draw(st.lists(st.floats(0, 1, width=32), min_size=1, max_size=3))
    return [
        {"id": f"{i}-{texts[i % len(texts)]}", "query": texts[(i + 1) % len(texts)], "answer": "Yes" if i % 2 else "No",
         "task_token": "<STATE>", "instruction": texts[i % len(texts)], "question": texts[(i + 2) % len(texts)],
         "manual_id": "m", "session": texts[0], "step_num": i, "image": {"bytes": images[i % len(images)], "path": f"{i}.png"},
         "label": bool(i % 2), "negative_kind": texts[(i + 3) % len(texts)], "displacement": numbers[i % len(numbers)]}
        for i in range(count)
    ]  # fmt: skip


@st.composite
def _manuals(draw: st.DrawFn) -> list[list[dict]]:
    return [_state_rows(draw, draw(st.integers(1, 250))) for _ in range(draw(st.integers(1, 4)))]


def _parquet(tables: list[pa.Table]) -> bytes:
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, tables[0].schema, compression="snappy", write_statistics=True) as writer:
        for table in tables:
            writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
    return buffer.getvalue()


@settings(max_examples=40, deadline=None)
@given(_manuals())
def test_spilled_tables_write_the_same_parquet_as_the_tables_themselves(tmp_path_factory, manuals: list[list[dict]]) -> None:
    """Rows of the state task's schema (images, floats, any text) through the spill and back, read in reverse order."""
    features = get_task("state").all_features()
    tables = [encode_rows(features, rows) for rows in manuals]
    spill = TableSpill(tmp_path_factory.mktemp("spill"))
    for index, table in enumerate(tables):
        spill.add("state", f"m{index}", table)
    spill.finish()
    back = [spill.get("state", f"m{index}") for index in reversed(range(len(tables)))][::-1]
    assert [t.nbytes for t in back] == [t.nbytes for t in tables]
    assert back[0].schema.metadata == tables[0].schema.metadata
    assert _parquet(back) == _parquet(tables)
    assert spill.get("state", "absent") is None and spill.get("scene", "m0") is None


def test_threads_read_one_spill_side_by_side(tmp_path: Path) -> None:
    """Each writer thread of a build reads the same key's file; every thread gets its own tables back."""
    spill = TableSpill(tmp_path)
    for index in range(40):
        spill.add("scene", f"m{index}", pa.table({"id": [f"m{index}-{j}" for j in range(index + 1)]}))
    spill.finish()
    seen: dict[int, list[int]] = {}

    def read(offset: int) -> None:
        seen[offset] = [len(spill.get("scene", f"m{index}")) for index in range(offset, 40, 4)]

    threads = [threading.Thread(target=read, args=(offset,)) for offset in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {offset: [index + 1 for index in range(offset, 40, 4)] for offset in range(4)}


@settings(max_examples=25, deadline=None)
@given(_manuals(), st.integers(1, 60_000))
def test_shards_written_side_by_side_are_the_streamed_shards(tmp_path_factory, manuals: list[list[dict]], max_bytes: int) -> None:
    """Shards small enough that most tables open a new one: cut and written in a pool, the files
    (names, bytes) and counts are the ones a streaming writer gives."""
    from concurrent.futures import ThreadPoolExecutor

    from lego_arta.dataset.export import ShardedParquetWriter
    from tests.support.folders import folder_files

    features = get_task("state").all_features()
    tables = [encode_rows(features, rows) for rows in manuals]
    streamed, side = tmp_path_factory.mktemp("streamed"), tmp_path_factory.mktemp("side")
    one = ShardedParquetWriter(streamed, "state", "train", features, max_shard_bytes=max_bytes)
    for table in tables:
        one.write_table(table)
    other = ShardedParquetWriter(side, "state", "train", features, max_shard_bytes=max_bytes)
    with ThreadPoolExecutor(max_workers=3) as pool:
        for future in other.write_tables_side_by_side([(t.nbytes, lambda t=t: t) for t in tables], pool):
            future.result()
    assert (other.rows, other.num_bytes) == (one.rows, one.num_bytes)
    assert [p.name for p in other.close()] == [p.name for p in one.close()]
    assert folder_files(side) == folder_files(streamed)
