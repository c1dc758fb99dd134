"""Data files: malformed lines counted, reproducible balanced few-shot subsets, unlabelled text readers."""

import json

import pytest

from kexue_hw.models.pet.data import few_shot_indices, read_labelled, read_mwp_texts, read_peoples_daily


def test_malformed_lines_are_counted_not_used(tmp_path):
    f = tmp_path / "d.data"
    f.write_text("好吃\t1\n难吃\t0\nno tab here\n\t1\n文本\tx\n文本\t7\n\n最后\t1\n", encoding="utf-8")
    d = read_labelled(f)
    assert d.texts == ["好吃", "难吃", "最后"]
    assert d.labels == [1, 0, 1]
    assert d.malformed == 5
    assert d.malformed_lines == [3, 4, 5, 6, 7]
    assert "5 malformed" in d.describe()


def test_limit_and_errors(tmp_path):
    f = tmp_path / "d.data"
    f.write_text("a\t1\nb\t0\nc\t1\n", encoding="utf-8")
    assert read_labelled(f, limit=2).texts == ["a", "b"]
    with pytest.raises(ValueError, match="no such file"):
        read_labelled(tmp_path / "missing.data")
    with pytest.raises(ValueError, match="--limit"):
        read_labelled(f, limit=0)
    bad = tmp_path / "bad.data"
    bad.write_text("only junk\n", encoding="utf-8")
    with pytest.raises(ValueError, match="1 malformed"):
        read_labelled(bad)
    latin = tmp_path / "latin.data"
    latin.write_bytes("caf\xe9\t1\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        read_labelled(latin)


def test_few_shot_subset_is_balanced_and_reproducible():
    labels = [i % 3 == 0 for i in range(1000)]
    labels = [int(v) for v in labels]
    a = few_shot_indices(labels, shots=40, seed=5)
    assert a == few_shot_indices(labels, shots=40, seed=5)
    assert a != few_shot_indices(labels, shots=40, seed=6)
    assert len(a) == 40 and sorted(a) == a and len(set(a)) == 40
    assert sum(labels[i] for i in a) == 20
    # default: 1 % of the set, floor
    assert len(few_shot_indices(labels, seed=0)) == 10
    with pytest.raises(ValueError, match="only"):
        few_shot_indices([0, 0, 1], shots=4)
    with pytest.raises(ValueError, match="--shots"):
        few_shot_indices(labels, shots=0)


def test_peoples_daily_tags_stripped(tmp_path):
    f = tmp_path / "pd.txt"
    f.write_text("迈向/v  充满/v  希望/n  的/u  [中央/n  人民/n  广播/vn  电台/n]nt  １/m  张/q\n\n摄/Vg  1/2/m\n",
                 encoding="utf-8")
    assert read_peoples_daily(f) == ["迈向充满希望的中央人民广播电台１张", "摄1/2"]


def test_mwp_texts_from_object_stream_and_json_lines(tmp_path):
    a = tmp_path / "a.json"
    a.write_text('{\n "id": "1",\n "original_text": "甲有3个苹果．"\n}\n{\n "id": "2",\n "original_text": "乙？"\n}\n',
                 encoding="utf-8")
    b = tmp_path / "b.json"
    b.write_text("\n".join(json.dumps({"id": i, "original_text": t}) for i, t in enumerate(["一", "二"])) + "\n",
                 encoding="utf-8")
    assert read_mwp_texts(a) == ["甲有3个苹果．", "乙？"]
    assert read_mwp_texts(b) == ["一", "二"]
