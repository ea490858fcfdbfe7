"""data.load: the right formats, and clear errors for bad names, missing files, malformed rows."""
import pytest

from course_utils import chat, data, paths


def test_unknown_name_and_split():
    with pytest.raises(data.DataError, match="unknown data set 'recipes'; known: general"):
        data.load("recipes")
    with pytest.raises(data.DataError, match="has no split 'dev'; splits: train, validation, test"):
        data.load("instructions", "dev")


def test_missing_file_says_make_data(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    with pytest.raises(data.DataError, match="missing data file .*run `make data`"):
        data.load("general", "train")


def test_malformed_row_names_file_and_line(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    f = tmp_path / "intents" / "train.jsonl"
    f.parent.mkdir()
    f.write_text('{"text": "a", "label": "x"}\n{"text": "b"\n')
    with pytest.raises(data.DataError, match=r"intents/train.jsonl:2: not valid JSON"):
        data.load("intents", "train")
    f.write_text('{"text": "a", "label": "x"}\n{"text": "b"}\n')
    with pytest.raises(data.DataError, match=r"train.jsonl:2: missing column\(s\) \['label'\]"):
        data.load("intents", "train")
    f.write_text('[1, 2]\n')
    with pytest.raises(data.DataError, match=r"train.jsonl:1: expected a JSON object"):
        data.load("intents", "train")


def test_chat_formatting_of_instructions(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    data.write_jsonl(tmp_path / "domain" / "instructions" / "train.jsonl",
                     [{"prompt": "When to plant rice?", "completion": "Plant rice in spring."}])
    ds = data.load("instructions", "train")
    row = ds[0]
    assert row["prompt"] == chat.format_prompt("When to plant rice?")
    assert row["completion"] == "Plant rice in spring.<|end|>"
    assert row["question"] == "When to plant rice?" and row["answer"] == "Plant rice in spring."
    raw = data.load("instructions", "train", chat=False)[0]
    assert raw["prompt"] == "When to plant rice?"


def test_write_jsonl_is_deterministic(tmp_path):
    rows = [{"b": 1, "a": "é"}]
    data.write_jsonl(tmp_path / "x.jsonl", rows)
    first = (tmp_path / "x.jsonl").read_bytes()
    data.write_jsonl(tmp_path / "x.jsonl", rows)
    assert (tmp_path / "x.jsonl").read_bytes() == first == '{"a": "é", "b": 1}\n'.encode()
