"""Text in every script: the `cjk` bigram analyzer, Unicode normalisation and word boundaries,
and searching, phrases, highlighting and snippets over Chinese, Japanese, Korean, Thai, full-width
Latin, emoji and combining marks. Every expected token and offset below was checked by hand."""
from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, run_python
from searchlib import ID, TEXT, Index, Schema, load_config
from searchlib.analysis import (CaseFoldFilter, NormalizeFilter, UnicodeWordTokenizer, get_analyzer)
from searchlib.analysis.cjk import CJKTokenizer
from searchlib.highlight import joins_previous, make_snippet
from searchlib.loaders import index_documents, load_documents


def toks(analyzer, text):
    return [(t.term, t.start_char, t.end_char) for t in get_analyzer(analyzer)(text)]


# -- tokens and offsets, script by script ---------------------------------------------------------

def test_chinese_bigrams_with_offsets():
    assert toks("cjk", "全文搜索引擎") == [("全文", 0, 2), ("文搜", 1, 3), ("搜索", 2, 4), ("索引", 3, 5), ("引擎", 4, 6)]
    # punctuation ends a run; a lone character between punctuation is a unigram
    assert toks("cjk", "搜索。书，引擎") == [("搜索", 0, 2), ("书", 3, 4), ("引擎", 5, 7)]


def test_japanese_kana_kanji_and_latin_in_one_text():
    text = "東京タワーでPythonを学ぶ"
    assert toks("cjk", text) == [("東京", 0, 2), ("京タ", 1, 3), ("タワ", 2, 4), ("ワー", 3, 5), ("ーで", 4, 6),
                                 ("python", 6, 12), ("を学", 12, 14), ("学ぶ", 13, 15)]
    positions = [t.position for t in get_analyzer("cjk")(text)]
    assert positions == list(range(8))


def test_half_width_katakana_is_folded_but_offsets_stay_on_the_original():
    text = "ｶﾞｲﾄﾞ"  # five code points: KA, voiced mark, I, TO, voiced mark
    assert toks("cjk", text) == [("ガイ", 0, 3), ("イド", 2, 5)]
    assert [t.term for t in get_analyzer("cjk")("ガイド")] == ["ガイ", "イド"]


def test_korean_bigrams_per_space_separated_word():
    assert toks("cjk", "한국어 검색") == [("한국", 0, 2), ("국어", 1, 3), ("검색", 4, 6)]
    # conjoining jamo (a syllable typed as its letters) are composed before bigramming
    assert toks("cjk", "\u1112\u1161\u11ab\u1100\u116e\u11a8") == [("한국", 0, 6)]


def test_thai_bigrams_keep_marks_on_their_consonant():
    assert toks("cjk", "ภาษาไทย") == [("ภา", 0, 2), ("าษ", 1, 3), ("ษา", 2, 4), ("าไ", 3, 5), ("ไท", 4, 6),
                                      ("ทย", 5, 7)]
    # ง + tone mark ่ is one grapheme: no bigram splits it
    assert toks("cjk", "ง่าย") == [("ง่า", 0, 3), ("าย", 2, 4)]


def test_full_width_latin_is_folded_and_lower_cased():
    text = "Ｓｅａｒｃｈ\u3000ＥＮＧＩＮＥ ２０２４"
    assert toks("cjk", text) == [("search", 0, 6), ("engine", 7, 13), ("2024", 14, 18)]


def test_emoji_are_not_words_and_do_not_shift_offsets():
    text = "I ❤️ 東京 🇯🇵 👨\u200d👩\u200d👧 ok"
    got = toks("cjk", text)
    assert got == [("i", 0, 1), ("東京", 5, 7), ("ok", text.index("ok"), text.index("ok") + 2)]
    assert text[5:7] == "東京"


def test_combining_marks_stay_in_their_word():
    text = "e\u0301te\u0301 cafe\u0301"  # "été café" typed with combining accents
    assert toks("cjk", text) == [("été", 0, 5), ("café", 6, 11)]
    assert toks("cjk", "été café") == [("été", 0, 3), ("café", 4, 8)]
    # the regular-expression tokenizer (re's \w) splits at the mark; the unicode tokenizer does not
    assert UnicodeWordTokenizer().words(text) == ["e\u0301te\u0301", "cafe\u0301"]
    assert toks("standard", "e\u0301te\u0301") != [("e\u0301te\u0301", 0, 5)]


def test_cjk_scripts_can_be_chosen():
    tokenizer = CJKTokenizer(scripts=["han", "hiragana", "katakana"])
    assert [t.term for t in tokenizer("한국어 東京")] == ["한국어", "東京"]
    assert tokenizer.spec() == {"type": "cjk", "scripts": ["han", "hiragana", "katakana"]}
    with pytest.raises(ValueError, match="scripts must be"):
        CJKTokenizer(scripts=["klingon"])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="全文搜ｶﾞｲﾄﾞガ한\u1112\u1161\u11abภา่ไe\u0301ab1.' 。😀\u200d🇯\ufe0fＡ", max_size=30))
def test_words_and_tokens_agree_on_any_mix(text):
    tokenizer = CJKTokenizer()
    tokens = list(tokenizer(text))
    assert tokenizer.words(text) == [t.term for t in tokens]
    assert [t.position for t in tokens] == list(range(len(tokens)))
    assert all(0 <= t.start_char < t.end_char <= len(text) for t in tokens)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=40))
def test_the_quick_path_for_latin_text_finds_the_same_words(text):
    tokenizer = CJKTokenizer()
    assert tokenizer.words(text) == tokenizer._plain.findall(text)
    assert [(m.group(), m.start()) for m in tokenizer._re.finditer(text)] == [
        (t.term, t.start_char) for t in tokenizer(text)]


def test_words_and_tokens_agree():
    tokenizer = CJKTokenizer()
    text = "全文ｶﾞｲﾄﾞ 한국어 ภาษาไทย e\u0301te\u0301 3.5 don't 😀 Ｐｙｔｈｏｎ"
    assert tokenizer.words(text) == [t.term for t in tokenizer(text)]
    for t in tokenizer(text):
        assert t.start_char < t.end_char and text[t.start_char:t.end_char].strip() == text[t.start_char:t.end_char]


# -- the Unicode filters and the word-boundary tokenizer -------------------------------------------

def test_normal_forms_and_case_folding():
    assert NormalizeFilter("NFC").map("e\u0301") == "é"
    assert NormalizeFilter("NFKC").map("Ｐｙｔｈｏｎ") == "Python"
    assert NormalizeFilter("NFKC").map("ﬁle") == "file"
    assert NormalizeFilter("NFC").map("ﬁle") == "ﬁle"
    assert CaseFoldFilter().map("Straße") == "strasse"
    assert CaseFoldFilter().map("ΣΊΣΥΦΟΣ") == "σίσυφοσ"
    with pytest.raises(ValueError, match="normal form 'NFX'"):
        NormalizeFilter("NFX")
    analyzer = get_analyzer({"tokenizer": "unicode", "filters": [{"type": "normalize", "form": "NFC"}, "casefold"]})
    assert [t.term for t in analyzer("STRASSE Straße")] == ["strasse", "strasse"]
    assert analyzer.normalize("Straße") == "strasse"  # prefixes and wildcards are folded too


def test_unicode_word_boundaries():
    text = "Don't stop: U.S.A. 3.5 e-mail 東京タワー"
    assert [(t.term, t.start_char) for t in UnicodeWordTokenizer()(text)] == [
        ("Don't", 0), ("stop", 6), ("U.S.A", 12), ("3.5", 19), ("e", 23), ("mail", 25), ("東", 30), ("京", 31),
        ("タワー", 32)]


# -- searching ------------------------------------------------------------------------------------

DOCS = {
    "zh": "全文搜索引擎是一种信息检索技术。我们在北京大学学习Python。",
    "ja": "東京タワーに行きました。ｶﾞｲﾄﾞブックを読んだ。",
    "ko": "한국어 검색 엔진을 만들었습니다.",
    "th": "ภาษาไทยง่ายนิดเดียว การค้นหาข้อความ",
    "latin": "Ｆｕｌｌ-width Ｐｙｔｈｏｎ, e\u0301te\u0301 😀 search engines",
}


@pytest.fixture(scope="module")
def cjk_index(tmp_path_factory):
    ix = Index.create(tmp_path_factory.mktemp("cjk") / "ix",
                      Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="cjk", stored=True)))
    with ix.writer() as w:
        for key, text in DOCS.items():
            w.add({"id": key, "body": text})
    return ix


@pytest.mark.parametrize("query, expected", [
    ("搜索", {"zh"}), ("搜索引擎", {"zh"}), ('"检索技术"', {"zh"}), ("北京大学", {"zh"}),
    ("引擎搜索", set()),  # the same characters in another order: 擎搜 is in no document
    ("索搜", set()),
    ("タワー", {"ja"}), ("ガイド", {"ja"}), ("ｶﾞｲﾄﾞ", {"ja"}), ("東京タワー", {"ja"}), ("京都", set()),
    ("검색", {"ko"}), ("검색 엔진", {"ko"}), ("검사", set()),
    ("ค้นหา", {"th"}), ("ภาษาไทย", {"th"}), ("ไทยภาษา", set()),
    ("python", {"zh", "latin"}), ("ＰＹＴＨＯＮ", {"zh", "latin"}), ("été", {"latin"}), ("full", {"latin"}),
    ("東", set()),  # one character never matches inside a longer run (its bigrams hold it)
])
def test_searches_that_must_and_must_not_match(cjk_index, query, expected):
    with cjk_index.searcher() as s:
        assert {h.id for h in s.search(query, limit=10)} == expected, query


def test_a_cjk_word_is_a_phrase_of_its_bigrams(cjk_index):
    with cjk_index.searcher() as s:
        # 技术 and 信息 are both in the document, but not as the word 技术信息
        assert s.search("信息", limit=5).total == 1 and s.search("技术", limit=5).total == 1
        assert s.search("技术信息", limit=5).total == 0
        assert s.search("信息检索技术", limit=5).total == 1
        assert s.search('"东京 技术"', limit=5).total == 0


def test_highlight_marks_whole_original_characters(cjk_index):
    with cjk_index.searcher() as s:
        (hit,) = s.search("搜索引擎", formatter="plain")
        assert hit.snippet == "全文[搜索引擎]是一种信息检索技术。我们在北京大学学习Python。"
        (hit,) = s.search("ガイド", formatter="plain")
        assert "[ｶﾞｲﾄﾞ]ブック" in hit.snippet  # the half-width original, voiced marks included
        (hit,) = s.search("été", formatter="plain")
        assert "[e\u0301te\u0301]" in hit.snippet
        (hit,) = s.search("ภาษาไทย", formatter="plain")
        assert hit.snippet.startswith("[ภาษาไทย]ง่าย")
        hits = s.search("ｐｙｔｈｏｎ", formatter="plain")
        assert {h.id: h.snippet for h in hits}["latin"] == "Ｆｕｌｌ-width [Ｐｙｔｈｏｎ], e\u0301te\u0301 😀 search engines"


def _graphemes(text: str) -> set[int]:
    return {m.start() for m in regex.finditer(r"\X", text)} | {len(text)}


LONG = ("全文搜索引擎是一种信息检索技术，" * 6 + "👨\u200d👩\u200d👧🇯🇵" + "東京ｶﾞｲﾄﾞタワー" * 5
        + "ภาษาไทยง่ายนิดเดียว" * 4 + " e\u0301te\u0301" * 8 + "한국어검색엔진" * 5 + "搜索" + "😀" * 10)


@pytest.mark.parametrize("fragment_chars", [3, 7, 12, 25, 40])
@pytest.mark.parametrize("query", ["搜索", "ガイド", "ภาษาไทย", "été", "검색", "技术"])
def test_snippets_never_cut_a_character(query, fragment_chars):
    analyzer = get_analyzer("cjk")
    terms, positions = analyzer.index_terms(query)
    phrases = [list(zip([p - positions[0] for p in positions], terms))] if len(terms) > 1 else []
    snippet = make_snippet(LONG, analyzer, {t: 1.0 for t in terms}, phrases, fragment_chars=fragment_chars,
                           max_fragments=3)
    edges = _graphemes(LONG)
    assert snippet.fragments
    for fragment in snippet.fragments:
        assert fragment.start in edges and fragment.end in edges, (fragment, LONG[fragment.start:fragment.end])
        for a, b in fragment.marks:
            assert a in edges and b in edges
    assert any(f.marks for f in snippet.fragments)


def test_snippet_of_text_without_spaces_is_cut_near_the_size_asked():
    analyzer = get_analyzer("cjk")
    text = "信息检索技术" * 40 + "全文搜索引擎" + "信息检索技术" * 40
    snippet = make_snippet(text, analyzer, {"搜索": 1.0}, fragment_chars=30, max_fragments=1)
    (fragment,) = snippet.fragments
    assert fragment.end - fragment.start <= 40
    assert (text.index("搜索"), text.index("搜索") + 2) in fragment.marks
    assert snippet.ellipsis_before and snippet.ellipsis_after


def test_query_prefix_and_fuzzy_text_is_width_folded(cjk_index):
    with cjk_index.searcher() as s:
        assert {h.id for h in s.search("ＰＹＴＨ*")} == {"zh", "latin"}


def test_graphemes_that_are_not_marks_are_never_split():
    text = "🇯🇵🇫🇷ｶﾞกำ"
    assert [p for p in range(1, len(text)) if not joins_previous(text, p)] == sorted(_graphemes(text) - {0, len(text)})


def test_a_bigram_is_marked_only_inside_the_word_that_matched(cjk_index):
    with cjk_index.searcher() as s:
        (hit,) = s.search("检索技术 北京", formatter="plain")
        # 技术 alone is no query word: it is marked only as part of 检索技术
        assert hit.snippet == "全文搜索引擎是一种信息[检索技术]。我们在[北京]大学学习Python。"
        (hit,) = s.search("技术", formatter="plain")
        assert hit.snippet == "全文搜索引擎是一种信息检索[技术]。我们在北京大学学习Python。"


# -- the multilingual example corpus, end to end -------------------------------------------------

CORPUS = REPO / "examples" / "corpus-multilingual"


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory):
    config = load_config(CORPUS / "searchlib.yaml")
    ix = Index.create(tmp_path_factory.mktemp("ml") / "ix", config.schema, config.settings)
    with ix.writer() as w:
        index_documents(w, load_documents(CORPUS))
    return ix


@pytest.mark.parametrize("query, first, others", [
    ("搜索引擎", "zh-search-engines", {"en-unicode"}),
    ("北京大学", "zh-beijing-travel", set()),
    ("东京", None, set()),  # simplified 东 is not the Japanese 東
    ("東京タワー", "ja-tokyo-tower", set()),
    ("ガイドブック", "ja-tokyo-tower", set()),  # written in half-width Katakana in the document
    ("ラーメン 札幌", "ja-ramen", set()),
    ("서울", "ko-seoul", {"ko-search"}),
    ('"검색 엔진"', "ko-search", {"en-unicode"}),
    ("กรุงเทพมหานคร", "th-bangkok", set()),
    ("การค้นหา", "th-search", {"en-unicode"}),
    ("café", "en-unicode", set()),
    ("python", "ja-search", set()),
    ("茶 龙井茶", "zh-tea", set()),
])
def test_the_multilingual_corpus(corpus_index, query, first, others):
    with corpus_index.searcher() as s:
        ids = [h.id for h in s.search(query, limit=20)]
    assert (ids[0] if ids else None) == first, ids
    assert set(ids[1:]) == others


def test_the_example_script_searches_the_multilingual_corpus(tmp_path):
    done = run_python(REPO / "examples" / "search.py", "--corpus", str(CORPUS), "--index-dir", str(tmp_path / "ix"),
                      "--limit", "2", "東京タワー", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "1. ja-tokyo-tower" in done.stdout
    assert "[東京タワー]は1958年に完成した電波塔" in done.stdout


def test_fields_of_several_languages_searched_at_once(tmp_path):
    """The README's multilingual schema: each field reads the query with its own analyzer."""
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True),
                                              title_en=TEXT(analyzer="english", stored=True),
                                              title_zh=TEXT(analyzer="cjk", stored=True)))
    with ix.writer() as w:
        w.add({"id": "zh", "title_zh": "全文搜索引擎"})
        w.add({"id": "en", "title_en": "Searching with engines"})
        w.add({"id": "none", "title_en": "Cooking", "title_zh": "中国茶文化"})
    with ix.searcher() as s:
        both = {"title_en": 1.0, "title_zh": 1.0}
        assert {h.id for h in s.search("搜索引擎 search", fields=both)} == {"zh", "en"}  # search: stemmed in title_en
        assert {h.id for h in s.search("title_zh:搜索引擎 OR title_en:engine")} == {"zh", "en"}
        assert {h.id for h in s.search("引擎搜索", fields=both)} == set()
        (hit,) = s.search("搜索引擎", fields=both, formatter="plain")
        assert hit.id == "zh" and hit.snippet == "全文[搜索引擎]"
