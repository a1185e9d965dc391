"""The dictionary presets (`chinese`, `japanese`, `korean`, `thai`): their tokens and offsets,
searches, phrases and highlights through the real segmenters when their extras are installed
(the `dev` extra installs them all), and the clear error when a package is missing."""
from __future__ import annotations

import pytest

from searchlib import ID, TEXT, Index, Schema, SchemaError
from searchlib.analysis import MissingPackageError, analyzers, get_analyzer, segmenters
from searchlib.analysis.segmenters import CHUNK_CHARS, _chunks


def toks(name, text):
    return [(t.term, t.start_char, t.end_char) for t in get_analyzer(name)(text)]


def search_ids(tmp_path, analyzer, docs, queries):
    ix = Index.create(tmp_path / analyzer, Schema(id=ID(unique=True, stored=True),
                                                  body=TEXT(analyzer=analyzer, stored=True)))
    with ix.writer() as w:
        for key, text in docs.items():
            w.add({"id": key, "body": text})
    with ix.searcher() as s:
        return {q: [(h.id, h.snippet) for h in s.search(q, formatter="plain")] for q in queries}


def test_chinese_words(tmp_path):
    pytest.importorskip("rjieba", reason="the chinese extra (rjieba) is not installed")
    text = "我们在北京大学学习Python搜索引擎，全文搜索很有用"
    assert toks("chinese", text) == [
        ("我们", 0, 2), ("在", 2, 3), ("北京大学", 3, 7), ("学习", 7, 9), ("python", 9, 15), ("搜索引擎", 15, 19),
        ("全文", 20, 22), ("搜索", 22, 24), ("很", 24, 25), ("有用", 25, 27)]
    found = search_ids(tmp_path, "chinese", {"a": text, "b": "大学生很好"}, ["很", "北京大学", "学习 python", "大学"])
    assert sorted(i for i, _ in found["很"]) == ["a", "b"]  # a one-character word is found, unlike with cjk
    assert found["北京大学"] == [("a", "我们在[北京大学]学习Python搜索引擎，全文搜索很有用")]
    assert [i for i, _ in found["学习 python"]] == ["a"]
    assert found["大学"] == []  # 北京大学 and 大学生 are words of their own: the price of a dictionary


def test_japanese_morphemes_as_dictionary_forms(tmp_path):
    pytest.importorskip("sudachipy", reason="the japanese extra (sudachipy) is not installed")
    pytest.importorskip("sudachidict_core", reason="the japanese extra (sudachidict-core) is not installed")
    text = "東京タワーに行きました。Ｐｙｔｈｏｎで全文検索をする。ｶﾞｲﾄﾞ"
    assert toks("japanese", text) == [
        ("東京", 0, 2), ("タワー", 2, 5), ("に", 5, 6), ("行く", 6, 8), ("ます", 8, 10), ("た", 10, 11),
        ("python", 12, 18), ("で", 18, 19), ("全文", 19, 21), ("検索", 21, 23), ("を", 23, 24), ("する", 24, 26),
        ("ガイド", 27, 32)]
    found = search_ids(tmp_path, "japanese", {"a": text, "b": "京都に行った"}, ["行く", "東京タワー", "ガイド", "京"])
    assert sorted(i for i, _ in found["行く"]) == ["a", "b"]  # 行き and 行っ are forms of 行く
    assert found["東京タワー"] == [("a", "[東京タワー]に行きました。Ｐｙｔｈｏｎで全文検索をする。ｶﾞｲﾄﾞ")]
    assert found["ガイド"] == [("a", "東京タワーに行きました。Ｐｙｔｈｏｎで全文検索をする。[ｶﾞｲﾄﾞ]")]
    assert found["京"] == []


@pytest.mark.slow  # Kiwi's model takes a few seconds to load
def test_korean_morphemes(tmp_path):
    pytest.importorskip("kiwipiepy", reason="the korean extra (kiwipiepy) is not installed")
    text = "한국어 검색 엔진을 만들었습니다."
    assert toks("korean", text) == [("한국어", 0, 3), ("검색", 4, 6), ("엔진", 7, 9), ("을", 9, 10), ("만들", 11, 13),
                                    ("었", 13, 14), ("습니다", 14, 17)]
    found = search_ids(tmp_path, "korean", {"a": text, "b": "엔진이 고장났다"}, ["엔진", "검색 엔진", "검사"])
    assert sorted(i for i, _ in found["엔진"]) == ["a", "b"]  # the noun without its particle
    assert found["검색 엔진"][0] == ("a", "한국어 [검색] [엔진]을 만들었습니다.")
    assert found["검사"] == []


def test_thai_words(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHAINLP_DATA_DIR", str(tmp_path / "pythainlp-data"))
    pytest.importorskip("pythainlp", reason="the thai extra (pythainlp) is not installed")
    text = "ภาษาไทยง่ายนิดเดียว ค้นหาข้อความ"
    assert toks("thai", text) == [("ภาษาไทย", 0, 7), ("ง่าย", 7, 11), ("นิดเดียว", 11, 19), ("ค้นหา", 20, 25),
                                  ("ข้อความ", 25, 32)]
    found = search_ids(tmp_path, "thai", {"a": text, "b": "ข้อความสั้น"}, ["ข้อความ", "ง่าย", "ไทยง่าย"])
    assert sorted(i for i, _ in found["ข้อความ"]) == ["a", "b"]
    assert found["ง่าย"] == [("a", "ภาษาไทย[ง่าย]นิดเดียว ค้นหาข้อความ")]
    assert found["ไทยง่าย"] == []  # ไทย is inside the word ภาษาไทย


@pytest.mark.parametrize("name, package", [("chinese", "rjieba"), ("japanese", "sudachipy"),
                                           ("korean", "kiwipiepy"), ("thai", "pythainlp")])
def test_a_missing_segmenter_says_how_to_install_it(monkeypatch, name, package):
    real = segmenters.importlib.util.find_spec
    monkeypatch.setattr(segmenters.importlib.util, "find_spec", lambda mod: None if mod == package else real(mod))
    monkeypatch.setattr(analyzers, "_preset_instances", {})
    with pytest.raises(MissingPackageError, match=rf'needs the {package}.*pip install "searchlib\[{name}\]"'):
        get_analyzer(name)
    with pytest.raises(SchemaError, match=rf"the '{name}' tokenizer needs"):
        TEXT(analyzer=name)


def test_long_texts_are_segmented_in_pieces_cut_between_sentences():
    text = ("一句话。" * 3000) + "x" * (CHUNK_CHARS + 5)
    spans = _chunks(text)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(b - a <= CHUNK_CHARS for a, b in spans)
    assert all(a == b for (_, a), (b, _) in zip(spans, spans[1:]))
    assert text[spans[0][1] - 1] == "。"  # a sentence end in the second half of the piece
    assert spans[-2][1] - spans[-2][0] == CHUNK_CHARS  # where there is none, a piece is cut at its length


def test_long_texts_keep_their_offsets():
    pytest.importorskip("sudachipy", reason="the japanese extra (sudachipy) is not installed")
    pytest.importorskip("sudachidict_core", reason="the japanese extra (sudachidict-core) is not installed")
    text = "東京タワーに行きました。" * 2000  # 24,000 characters, 72,000 bytes: over SudachiPy's limit
    tokens = list(get_analyzer("japanese")(text))
    assert len(tokens) == 6 * 2000
    assert all(text[t.start_char:t.end_char] in ("東京", "タワー", "に", "行き", "まし", "た") for t in tokens)
