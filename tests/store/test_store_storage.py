"""The database file: its line layout, parsing other layouts, and the large-file path."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import orjson
import pytest

from crmtui.model import Contact
from crmtui.store import DB_FILE, StorageError, open_store
from crmtui.store import storage as storage_module
from crmtui.store.storage import STORAGE_TABLE, AtomicJSONStorage


@pytest.fixture
def small_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_module, "LINE_DOCS", 3)


def _saved(tmp_path: Path, data: dict[str, dict[str, object]]) -> AtomicJSONStorage:
    store = AtomicJSONStorage(tmp_path / DB_FILE)
    store.write(data)
    store.flush()
    return store


SAMPLE = {
    "_meta": {"schema": {"schema": 1}},
    "empty": {},
    "contacts": {f"c{i}": {"given_name": f"Name {i}", "notes": "two\nlines, {braces}: \"q\"",
                           "tags": ["t"] * (i % 3)} for i in range(10)},
    "tags": {"t": {"name": "T"}},
}


def test_file_is_json_in_lines_and_reads_back(tmp_path: Path, small_lines: None) -> None:
    store = _saved(tmp_path, SAMPLE)
    raw = store.path.read_bytes()
    assert orjson.loads(raw) == json.loads(raw)
    base = orjson.loads(raw).pop(STORAGE_TABLE)["base"]  # which base this is (see journal tests)
    assert base["generation"] == 1 and len(base["id"]) == 16
    assert {k: v for k, v in orjson.loads(raw).items() if k != STORAGE_TABLE} == SAMPLE
    lines = raw.split(b"\n")
    assert lines[0] == b"{" and lines[-1] == b"}"
    assert lines.count(b'"contacts":{') == 1
    assert sum(b'"given_name"' in line for line in lines) == 4  # 3 + 3 + 3 + 1 contacts
    assert AtomicJSONStorage(store.path).load() == SAMPLE


@pytest.mark.parametrize("layout", ["compact", "indented", "one line per table"])
def test_other_layouts_are_read_whole(tmp_path: Path, layout: str) -> None:
    path = tmp_path / DB_FILE
    if layout == "compact":
        path.write_bytes(orjson.dumps(SAMPLE))
    elif layout == "indented":
        path.write_text(json.dumps(SAMPLE, indent=2))
    else:
        path.write_text("{\n" + ",\n".join(f"{json.dumps(k)}:{json.dumps(v)}"
                                           for k, v in SAMPLE.items()) + "\n}")
    assert AtomicJSONStorage(path).load() == SAMPLE


@pytest.mark.parametrize("damage", [
    lambda raw: raw[:-1],                                    # the last brace is missing
    lambda raw: raw[: len(raw) // 2],                        # cut in the middle
    lambda raw: raw.replace(b'\n,"c3"', b'\n"c3"', 1),        # a comma is missing
    lambda raw: raw.replace(b"},\n", b"}\n", 1),              # a table's comma is missing
    lambda raw: raw + b"\n{}",                               # trailing data
])
def test_damaged_line_files_are_refused(tmp_path: Path, small_lines: None, damage: object
                                        ) -> None:
    store = _saved(tmp_path, SAMPLE)
    store.path.write_bytes(damage(store.path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(StorageError, match="is not valid JSON"):
        AtomicJSONStorage(store.path).load()


def test_large_file_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_module, "FREEZE_SIZE", 0)
    store = open_store(tmp_path / "data")
    store.add_contacts([Contact(given_name=f"N{i}") for i in range(50)])
    store.close()
    was_enabled = gc.isenabled()
    again = open_store(tmp_path / "data")
    try:
        assert again.count_contacts() == 50
        assert gc.get_freeze_count() > 0
        assert gc.isenabled() == was_enabled
    finally:
        again.close()
        gc.unfreeze()


def test_gc_is_restored_when_parsing_fails(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    path.write_bytes(b"{\n\"contacts\":{\nnot json\n}\n}")
    with pytest.raises(StorageError):
        AtomicJSONStorage(path).load()
    assert gc.isenabled()
