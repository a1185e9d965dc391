"""Passage splitting on its own, and passages through indexing and search: their scores follow the rule
hits are ranked by, and a flat search's whole-document hits list the document's passages."""
from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from searchlib import ID, TEXT, Index, Schema
from searchlib.analysis import get_analyzer
from searchlib.passages import split_passages
from searchlib.schema import PassageSpec


def pieces(text, spec, analyzer=None):
    return [text[a:b] for a, b in split_passages(text, spec, analyzer)]


# -- splitting --------------------------------------------------------------------------------

def test_paragraphs():
    text = "  First paragraph\nstill first.\n\nSecond paragraph.\n  \n\t\nThird one.\n\n\n"
    spans = split_passages(text, PassageSpec("paragraph"))
    assert [text[a:b] for a, b in spans] == ["First paragraph\nstill first.", "Second paragraph.", "Third one."]
    assert spans[0] == (2, 2 + len("First paragraph\nstill first."))
    assert spans == sorted(spans)


def test_paragraphs_grouped_with_overlap():
    text = "\n\n".join(f"P{i}" for i in range(5))
    assert pieces(text, PassageSpec("paragraph", 2, 0)) == ["P0\n\nP1", "P2\n\nP3", "P4"]
    assert pieces(text, PassageSpec("paragraph", 2, 1)) == ["P0\n\nP1", "P1\n\nP2", "P2\n\nP3", "P3\n\nP4"]
    assert pieces(text, PassageSpec("paragraph", 3, 1)) == ["P0\n\nP1\n\nP2", "P2\n\nP3\n\nP4"]
    assert pieces(text, PassageSpec("paragraph", 9, 0)) == [text]


def test_sentences():
    text = 'First sentence. Second one!  Third? "Quoted end." Fourth (aside.) Last\n\nNew paragraph'
    assert pieces(text, PassageSpec("sentences", 1, 0)) == [
        "First sentence.", "Second one!", "Third?", '"Quoted end."', "Fourth (aside.)", "Last", "New paragraph"]
    assert pieces(text, PassageSpec("sentences", 2, 1))[:3] == [
        "First sentence. Second one!", "Second one!  Third?", 'Third? "Quoted end."']
    assert pieces(text, PassageSpec("sentences", 3, 0)) == [
        'First sentence. Second one!  Third?', '"Quoted end." Fourth (aside.) Last', "New paragraph"]


def test_sentences_keep_decimals_and_inner_dots():
    text = "Pi is 3.14 today. Version 2.0.1 shipped."
    assert pieces(text, PassageSpec("sentences", 1, 0)) == ["Pi is 3.14 today.", "Version 2.0.1 shipped."]


def test_windows_with_overlap():
    analyzer = get_analyzer("standard")
    text = "one two, three  four five. six seven"
    assert pieces(text, PassageSpec("window", 3, 1), analyzer) == ["one two, three", "three  four five",
                                                                    "five. six seven"]
    assert pieces(text, PassageSpec("window", 3, 0), analyzer) == ["one two, three", "four five. six", "seven"]
    assert pieces(text, PassageSpec("window", 4, 2), analyzer) == ["one two, three  four", "three  four five. six",
                                                                    "five. six seven"]
    assert pieces(text, PassageSpec("window", 50, 10), analyzer) == [text[:len(text)]]


def test_windows_count_tokens_including_stop_words():
    # the window counts the tokenizer's tokens; stop words are tokens too
    text = "the cat and the dog"
    assert pieces(text, PassageSpec("window", 2, 0), get_analyzer("english")) == ["the cat", "and the", "dog"]


def test_window_needs_analyzer():
    with pytest.raises(ValueError):
        split_passages("a b c", PassageSpec("window", 2, 0))


@pytest.mark.parametrize("spec", [PassageSpec("paragraph"), PassageSpec("sentences", 2, 1),
                                  PassageSpec("window", 3, 1)])
@pytest.mark.parametrize("text", ["", "   ", "\n\n\n", " \t\n "])
def test_empty_text_has_no_passages(spec, text):
    assert split_passages(text, spec, get_analyzer("standard")) == []


TEXTS = st.lists(st.sampled_from(["word", "Two", ".", "!", "? ", " ", "\n", "\n\n", '"', ")", "é", "3.5", "İ"]),
                 max_size=60).map("".join)


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, mode=st.sampled_from(["paragraph", "sentences", "window"]),
       size=st.integers(1, 4), overlap=st.integers(0, 3))
def test_spans_are_exact_trimmed_substrings_in_order(text, mode, size, overlap):
    spec = PassageSpec(mode, size, min(overlap, size - 1))
    spans = split_passages(text, spec, get_analyzer("standard"))
    for a, b in spans:
        assert 0 <= a < b <= len(text)
        piece = text[a:b]
        assert piece == piece.strip() and piece
    starts = [a for a, _ in spans]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    if text.strip() and mode != "window":
        # every non-space character is inside some passage
        covered = set()
        for a, b in spans:
            covered.update(range(a, b))
        assert all(i in covered for i, c in enumerate(text) if not c.isspace())


# -- end to end -------------------------------------------------------------------------------

DOC = """Volcanoes of Iceland

Iceland sits on the Mid-Atlantic Ridge, where two plates pull apart.

Glaciers cover about a tenth of the island. Glacier tongues reach the sea and calve icebergs.

Geothermal energy heats most homes. Volcanic eruptions under glaciers cause floods called jökulhlaups."""


@pytest.fixture()
def index(tmp_path):
    schema = Schema(id=ID(unique=True, stored=True),
                    title=TEXT(analyzer="english", stored=True),
                    body=TEXT(analyzer="english", stored=True, passages="paragraph"))
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        w.add({"id": "iceland", "title": "Iceland facts", "body": DOC})
        w.add({"id": "alps", "title": "The Alps",
               "body": "Alpine glaciers retreat.\n\nSki resorts worry about snow.\n\nCows graze in summer."})
        w.add({"id": "empty", "title": "Nothing here", "body": ""})
    return ix


def paragraph(text, startswith):
    start = text.index(startswith)
    end = text.find("\n\n", start)
    return start, (len(text) if end < 0 else end)


def test_best_paragraph_is_first_passage(index):
    with index.searcher() as s:
        res = s.search("glacier icebergs calve", fields=["body"])
        assert [h.id for h in res] == ["iceland", "alps"]
        hit = res[0]
        best = hit.passages[0]
        start, end = paragraph(DOC, "Glaciers cover")
        assert (best.field, best.start, best.end) == ("body", start, end)
        assert best.text == DOC[start:end]
        assert best.index == 2
        assert best.score == hit.score  # the same float32 rule ranks hits and scores passages
        assert all(p.score <= best.score for p in hit.passages)
        # another query picks another paragraph of the same document
        hit = s.search("geothermal homes", fields=["body"])[0]
        start, end = paragraph(DOC, "Geothermal")
        assert (hit.passages[0].start, hit.passages[0].end, hit.passages[0].index) == (start, end, 3)
        assert hit.passages[0].text == DOC[start:end]


def test_passage_scores_rank_paragraphs(index):
    with index.searcher() as s:
        res = s.search("glacier", fields=["body"], passages=5)
        assert {h.id for h in res} == {"iceland", "alps"}
        hit = next(h for h in res if h.id == "iceland")
        texts = [p.text for p in hit.passages]
        # both paragraphs mentioning glaciers are returned, the title-only paragraph is not
        assert set(texts) == {DOC[slice(*paragraph(DOC, "Glaciers cover"))],
                              DOC[slice(*paragraph(DOC, "Geothermal"))]}
        assert texts[0].startswith("Glaciers cover")  # "glacier" twice beats once


def test_flat_search_returns_one_hit_per_passage(index):
    with index.searcher() as s:
        grouped = s.search("glacier", fields=["body"])
        flat = s.search("glacier", fields=["body"], group=False)
        assert sorted(h.id for h in grouped) == ["alps", "iceland"]
        assert sorted(h.id for h in flat) == ["alps", "iceland", "iceland"]
        assert flat.total == grouped.total == 2  # total counts documents
        for hit in flat:
            assert len(hit.passages) == 1
            p = hit.passages[0]
            assert p.score == hit.score
            assert "glacier" in p.text.lower()
        scores = [h.score for h in flat]
        assert scores == sorted(scores, reverse=True)
        assert flat[0].score == grouped[0].score
        spans = {(h.id, h.passages[0].start) for h in flat}
        assert len(spans) == 3


def test_snippet_comes_from_best_passage(index):
    with index.searcher() as s:
        hit = s.search("geothermal", fields=["body"])[0]
        plain = re.sub(r"</?mark>", "", hit.snippet).replace("…", "").strip()
        best = hit.passages[0]
        assert "<mark>Geothermal</mark>" in hit.snippet
        assert plain and plain in best.text
        assert "Glaciers cover" not in hit.snippet


def test_document_with_empty_split_field_is_stored(index):
    with index.searcher() as s:
        res = s.search("nothing", fields=["title"])
        assert [h.id for h in res] == ["empty"]
        assert res[0].fields["body"] == ""


def test_phrase_does_not_cross_passage_boundary(tmp_path):
    schema = Schema(id=ID(unique=True), body=TEXT(analyzer="standard", stored=True, passages="paragraph"))
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        w.add({"id": "split", "body": "it ends with red\n\nwine begins here"})
        w.add({"id": "joined", "body": "a glass of red wine"})
    assert [h.id for h in ix.search('"red wine"')] == ["joined"]


def test_sentence_and_window_passages_end_to_end(tmp_path):
    schema = Schema(id=ID(unique=True),
                    s=TEXT(analyzer="standard", stored=True, passages={"mode": "sentences", "size": 1}),
                    w=TEXT(analyzer="standard", stored=True, passages={"mode": "window", "size": 4, "overlap": 1}))
    ix = Index.create(tmp_path / "ix", schema)
    text = "Alpha beta gamma. Delta epsilon zeta. Eta theta iota kappa lambda."
    with ix.writer() as w:
        w.add({"id": "1", "s": text, "w": text})
    with ix.searcher() as s:
        p = s.search("epsilon", fields=["s"])[0].passages[0]
        assert (p.start, p.end, p.text) == (18, 37, "Delta epsilon zeta.")
        p = s.search("iota", fields=["w"])[0].passages[0]
        # windows of 4 tokens stepping by 3: [alpha..delta] [delta..eta] [eta..kappa] [kappa lambda]
        assert p.text == "Eta theta iota kappa"
        assert text[p.start:p.end] == p.text


def test_sentences_split_where_highlight_snaps():
    # Any number of closing quotes/brackets stays with the sentence, in passages as in highlight
    # snippets (both use passages.SENTENCE_BREAK): here four follow the "!".
    from searchlib.highlight import _SENTENCE_END, highlight

    core = """He said ("stop!'')) Then the cat sat on the mat."""
    spans = split_passages(core, PassageSpec("sentences", 1, 0))
    assert [core[a:b] for a, b in spans] == ["""He said ("stop!''))""", "Then the cat sat on the mat."]
    assert [m.end() for m in _SENTENCE_END.finditer(core + " ")] == [b for _, b in spans]
    text = "x " * 300 + core + " " + "y " * 300
    snippet = highlight(text, get_analyzer("english"), {"cat": 1.0}, formatter="plain", fragment_chars=80)
    assert snippet.startswith("…Then the [cat] sat")


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.text(alphabet=st.sampled_from(list("ab cd's.İ\n-9é")), max_size=120), max_size=4),
       size=st.integers(1, 12), overlap=st.integers(0, 11),
       analyzer=st.sampled_from(["standard", "english", "whitespace"]))
def test_window_passages_are_indexed_as_if_each_window_were_analysed_alone(texts, size, overlap, analyzer):
    """Indexing takes a field's words once and slices them into windows; that must give exactly
    the passages, spans and term ids of analysing each window's text on its own."""
    from searchlib.indexing.analyze import FieldAnalysis

    overlap = min(overlap, size - 1)
    ft = TEXT(analyzer=analyzer, passages={"mode": "window", "size": size, "overlap": overlap})
    batch = FieldAnalysis(ft).run(texts)
    terms = batch.new_terms  # a fresh numbering: local id i is new_terms[i]
    assert batch.first_term == 0
    got = []
    at = 0
    for count, owner, (a, b) in zip(batch.counts.tolist(), batch.owner.tolist(), batch.spans.tolist()):
        got.append((owner, a, b, [terms[i] if i >= 0 else None for i in batch.ids[at:at + count].tolist()]))
        at += count
    expected = []
    for owner, text in enumerate(texts):
        for a, b in split_passages(text, ft.passages, ft.analyzer):
            words = ft.analyzer.tokenizer.words(text[a:b])
            expected.append((owner, a, b, [ft.analyzer.map_word(w) for w in words]))
    assert got == expected


# -- passage scores and whole-document hits ---------------------------------------------------

WORDS = ("glacier ice melt river valley stone snow summit ridge cloud storm coast harbour ship "
         "wind rain field forest road bridge").split()


def _sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))).capitalize() + "."


@pytest.fixture(scope="module")
def psearcher(tmp_path_factory):
    """Documents with a title (not split) and a body split into sentences, so that a passage's
    score is its own plus its document's title part: sums whose rounding shows."""
    rng = random.Random(7)
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True),
                    body=TEXT(stored=True, passages="sentences"))
    ix = Index.create(tmp_path_factory.mktemp("review") / "ix", schema)
    with ix.writer() as w:
        for i in range(60):
            w.add({"id": str(i), "title": " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4))),
                   "body": " ".join(_sentence(rng) for _ in range(rng.randint(1, 6)))})
    with ix.searcher() as s:
        yield s


QUERIES = ["glacier melt", "ice snow storm", "river valley bridge", "coast ship harbour wind",
           "summit", "forest road rain cloud", "title:stone body:ridge", "title:field"]


@pytest.mark.parametrize("group", [True, False])
def test_best_passage_score_is_the_hit_score(psearcher, group):
    checked = 0
    for q in QUERIES:
        for hit in psearcher.search(q, limit=100, group=group, passages=4):
            passages = hit.passages
            assert passages[0].score == hit.score, (q, hit.id)  # exactly: one float32 rule
            assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
            checked += 1
    assert checked > 100


def test_flat_whole_document_hit_lists_the_documents_passages(psearcher):
    """A flat hit of a document whose matches are outside its split fields stands for the whole
    document: its passages are the document's first ones (all score alike), not one passage."""
    res = psearcher.search("title:field", group=False, passages=3, limit=100)
    assert len(res)
    for hit in res:
        passages = hit.passages
        body = hit.fields["body"]
        n_sentences = len(psearcher.search(f"id:{hit.id}", group=False, passages=100)[0].passages)
        assert len(passages) == min(3, n_sentences)
        assert [p.index for p in passages] == list(range(len(passages)))
        assert all(p.field == "body" and p.score == hit.score for p in passages)
        assert all(p.text == body[p.start:p.end] for p in passages)
