"""Shards streamed, taken back and rewritten manual by manual (:class:`lego_arta.dataset.export.ShardedParquetWriter`,
:class:`~lego_arta.dataset.export.ManualTables`): how a build re-splits when the votes swap manuals."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lego_arta.dataset.export import ROW_GROUP_SIZE, ManualTables, ShardedParquetWriter, encode_rows
from lego_arta.tasks import get_task
from tests.support.folders import folder_files

_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


def _state_rows(draw: st.DrawFn, manual: str, count: int) -> list[dict]:
    """``count`` rows of one manual cycling through a few drawn texts, images and numbers (more rows than a row group holds)."""
    texts = draw(st.lists(_TEXT, min_size=1, max_size=4))
    images = draw(st.lists(st.binary(max_size=300), min_size=1, max_size=3))
    numbers = draw(st.lists(st.floats(0, 1, width=32), min_size=1, max_size=3))
    return [
        {"id": f"{manual}-{i}-{texts[i % len(texts)]}", "query": texts[(i + 1) % len(texts)], "answer": "Yes" if i % 2 else "No",
         "task_token": "<STATE>", "instruction": texts[i % len(texts)], "question": texts[(i + 2) % len(texts)],
         "manual_id": manual, "session": texts[0], "step_num": i, "image": {"bytes": images[i % len(images)], "path": f"{i}.png"},
         "label": bool(i % 2), "negative_kind": texts[(i + 3) % len(texts)], "displacement": numbers[i % len(numbers)]}
        for i in range(count)
    ]  # fmt: skip


@st.composite
def _manuals(draw: st.DrawFn) -> dict[str, list[dict]]:
    """Manual id → its rows; ids of any text (a shard's row groups are told apart by this column)."""
    ids = draw(st.lists(_TEXT, min_size=1, max_size=5, unique=True))
    return {manual: _state_rows(draw, manual, draw(st.integers(1, 2 * ROW_GROUP_SIZE + 50))) for manual in ids}


@settings(max_examples=30, deadline=None)
@given(_manuals(), st.integers(1, 60_000), st.randoms(use_true_random=False))
def test_manuals_read_back_and_rewritten_give_the_shards_streaming_them_gives(tmp_path_factory, manuals: dict[str, list[dict]],
                                                                              max_bytes: int, random) -> None:  # fmt: skip
    """Manuals streamed into two splits, taken back and written into other splits (shards small
    enough that most manuals open a new one): the files, names and counts are those of streaming
    each manual straight into the split it ends in."""
    features = get_task("state").all_features()
    tables = {manual: encode_rows(features, rows) for manual, rows in manuals.items()}
    first = {m: random.choice(["train", "test"]) for m in tables}
    final = {m: random.choice(["train", "test"]) for m in tables}
    streamed, rewritten = tmp_path_factory.mktemp("streamed"), tmp_path_factory.mktemp("rewritten")

    direct = {split: ShardedParquetWriter(streamed, "state", split, features, max_shard_bytes=max_bytes) for split in ("train", "test")}
    for manual, table in tables.items():
        direct[final[manual]].write_table(table)

    writers = {split: ShardedParquetWriter(rewritten, "state", split, features, max_shard_bytes=max_bytes) for split in ("train", "test")}
    for manual, table in tables.items():
        writers[first[manual]].write_table(table)
    taken = [part for writer in writers.values() for part in writer.take_back()]
    assert all(writer.rows == 0 and writer.num_bytes == 0 for writer in writers.values())
    back = ManualTables(taken)
    assert sorted(back.manuals) == sorted(tables)
    for manual, table in tables.items():
        read = back.table(manual)
        assert read.equals(table) and read.schema.metadata == table.schema.metadata
        writers[final[manual]].write_table(read, nbytes=table.nbytes)
    for part in taken:
        part.unlink()

    for split in ("train", "test"):
        assert (writers[split].rows, writers[split].num_bytes) == (direct[split].rows, direct[split].num_bytes)
        if direct[split].rows:
            assert [p.name for p in writers[split].close()] == [p.name for p in direct[split].close()]
        else:
            writers[split].discard(), direct[split].discard()
    assert folder_files(rewritten) == folder_files(streamed)


def test_a_manual_fills_whole_row_groups_of_one_shard(tmp_path: Path) -> None:
    """What :class:`ManualTables` relies on: each table written starts its own row groups."""
    features = get_task("state").all_features()
    rows = [{"id": f"{m}-{i}", "query": "q", "answer": "Yes", "task_token": "<STATE>", "instruction": "i", "question": "q",
             "manual_id": m, "session": "s", "step_num": i, "image": {"bytes": b"x", "path": "x.png"}, "label": True,
             "negative_kind": "positive", "displacement": 0.0} for m, n in (("a", 130), ("b", 7), ("c", 100)) for i in range(n)]  # fmt: skip
    writer = ShardedParquetWriter(tmp_path, "state", "train", features)
    for manual in "abc":
        writer.write_table(encode_rows(features, [r for r in rows if r["manual_id"] == manual]))
    (shard,) = writer.close()
    groups = [pq.ParquetFile(shard).read_row_group(g, columns=["manual_id"]).column(0).to_pylist() for g in range(4)]
    assert [sorted(set(g)) for g in groups] == [["a"], ["a"], ["b"], ["c"]] and [len(g) for g in groups] == [100, 30, 7, 100]


def test_a_writer_taken_back_keeps_no_shard_of_its_own(tmp_path: Path) -> None:
    """Taken back, a writer that gets no further rows is an empty split again: closing it refuses, as for any empty split."""
    from lego_arta.dataset.export import EmptySplitError

    features = get_task("state").all_features()
    row = {"id": "a", "query": "q", "answer": "Yes", "task_token": "<STATE>", "instruction": "i", "question": "q", "manual_id": "m",
           "session": "s", "step_num": 1, "image": {"bytes": b"x", "path": "x.png"}, "label": True, "negative_kind": "positive",
           "displacement": 0.0}  # fmt: skip
    writer = ShardedParquetWriter(tmp_path, "state", "train", features, max_shard_bytes=1)
    writer.write_table(encode_rows(features, [row])), writer.write_table(encode_rows(features, [{**row, "id": "b"}]))
    taken = writer.take_back()
    assert len(taken) == 2 and all(p.is_file() for p in taken)
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == sorted(p.name for p in taken)
    with pytest.raises(EmptySplitError, match="state/train"):
        writer.close()
