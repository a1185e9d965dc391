"""Snippets of search hits: marks come from where the query matched, in the field where it matched.

The cases of issue 11, each against a small index: a title-only match, a field-restricted clause,
a phrase marked only where it matched, proximity, expansions, excluded words, an empty field,
control characters and escape sequences in every formatter, HTML injection; then the snippet
options of a query, an index without offsets, and property tests over generated documents.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchlib import ID, TEXT, Index, InvalidArgumentError, Schema, get_analyzer
from searchlib.search.phrases import phrase_matches
from searchlib.query.compile import PhraseLeaf

HASH_BODY = "We solve equations fast. The hash table is large. A table of hash values, and a quadratic form."
TERMINAL_BODY = "alert \x1b[31mred\x1b[0m text \x07 bell \x1b]0;title\x07 <script>x</script> \x9b2J end"


def _schema(offsets=None) -> Schema:
    return Schema(id=ID(unique=True, stored=True),
                  title=TEXT(analyzer="english", stored=True, boost=2.0, offsets=offsets),
                  body=TEXT(analyzer="english", stored=True, offsets=offsets))


def _build(path, offsets=None) -> Index:
    ix = Index.create(path, _schema(offsets))
    with ix.writer() as w:
        w.add({"id": "1", "title": "Quadratic residues and connectives", "body": ""})
        w.add({"id": "2", "title": "Quadratic equations", "body": HASH_BODY})
        w.add({"id": "3", "title": "Terminal", "body": TERMINAL_BODY})
        w.add({"id": "4", "title": "Hashes", "body": "A hash here. Many unrelated words come between them in this "
                                                      "long sentence. Then a table there."})
    return ix


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    return _build(tmp_path_factory.mktemp("snippets") / "ix")


@pytest.fixture
def s(ix):
    with ix.searcher() as searcher:
        yield searcher


def _hit(s, query, doc_id, **options):
    for hit in s.search(query, **options):
        if hit.id == doc_id:
            return hit
    raise AssertionError(f"{doc_id} not found for {query!r}")


def test_a_title_only_match_shows_its_title(s):
    hit = _hit(s, "connectives", "1")
    assert hit.snippet == "Quadratic residues and <mark>connectives</mark>"
    assert hit.highlights == {"title": "Quadratic residues and <mark>connectives</mark>"}
    assert [(p.field, p.start, p.end) for p in hit.passages] == [("title", 0, 34)]


def test_no_passage_with_an_empty_span_carries_a_score(s):
    for query in ("connectives", "quadratic", "residues OR equations"):
        for hit in s.search(query):
            assert all(p.end > p.start for p in hit.passages), (query, hit.id, hit.passages)


def test_a_field_restricted_clause_marks_only_in_its_field(s):
    hit = _hit(s, "title:quadratic", "2")
    assert hit.snippet == "<mark>Quadratic</mark> equations"
    assert hit.highlights == {"title": "<mark>Quadratic</mark> equations"}
    assert hit.highlight("title") == "<mark>Quadratic</mark> equations"
    body = hit.highlight("body")  # unmatched: the field, unmarked, through the same formatter
    assert "<mark>" not in body and "quadratic form" in body


def test_a_phrase_is_marked_only_where_it_matched(s):
    hit = _hit(s, '"hash table"', "2")
    assert hit.snippet == ("We solve equations fast. The <mark>hash table</mark> is large. "
                           "A table of hash values, and a quadratic form.")
    assert hit.snippet.count("<mark>") == 1


def test_a_proximity_clause_marks_its_words_where_they_matched(s):
    hit = _hit(s, '"table hash"~2', "2")
    assert hit.snippet.count("<mark>") == 4  # "hash table" (a swap costs 2) and "table of hash"
    assert "<mark>hash</mark> <mark>table</mark>" in hit.snippet
    assert "<mark>table</mark> of <mark>hash</mark>" in hit.snippet
    with pytest.raises(AssertionError):  # doc 4 has both words, too far apart: no match, nothing to mark
        _hit(s, '"table hash"~2', "4")


def test_expansions_mark_the_words_they_expanded_to(s):
    hit = _hit(s, "quadr*", "2")
    assert hit.highlights["title"] == "<mark>Quadratic</mark> equations"
    assert "a <mark>quadratic</mark> form" in hit.highlights["body"]
    fuzzy = _hit(s, "quadrut~1", "2")
    assert "<mark>quadratic</mark>" in fuzzy.highlights["body"]
    wild = _hit(s, "eq*at", "2")  # wildcards read stemmed terms
    assert "solve <mark>equations</mark> fast" in wild.highlights["body"]


def test_excluded_words_are_never_marked(s):
    hit = _hit(s, "quadratic -title:hash", "2")  # the body holds "hash", which the query excludes elsewhere
    assert "hash" in hit.highlights["body"] and "<mark>hash" not in hit.highlights["body"]
    assert all(h.id != "2" for h in s.search("equations -hash"))


def test_an_empty_field_gives_no_passage_and_the_matched_field_is_shown(s):
    hit = _hit(s, "residues", "1")
    assert "body" not in hit.highlights and hit.highlight("body") == ""
    assert hit.snippet.startswith("Quadratic <mark>residues</mark>")


@pytest.mark.parametrize("formatter", ["html", "ansi", "plain"])
def test_no_formatter_passes_control_characters_or_escape_sequences(s, formatter):
    hit = _hit(s, "alert OR bell", "3", formatter=formatter)
    for shown in (hit.snippet, *hit.highlights.values()):
        text = shown
        if formatter == "ansi":  # the formatter's own colour codes are the only escapes
            text = text.replace("\x1b[1;33m", "").replace("\x1b[0m", "")
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(shown)
        assert "31m" not in text and "2J" not in text and "0;title" not in text
        assert "red text" in text


def test_html_injection_is_escaped(s):
    hit = _hit(s, "script", "3")
    assert "<script>" not in hit.snippet
    assert "&lt;<mark>script</mark>&gt;x&lt;/<mark>script</mark>&gt;" in hit.snippet


def test_snippet_options_per_query(s):
    text = " ".join(["filler words here."] * 40) + " The quadratic form ends it."
    long_ix = _build_one(s, text)
    with long_ix.searcher() as ls:
        hit = ls.search("quadratic", highlight={"fragment_chars": 40, "max_fragments": 1, "formatter": "plain"})[0]
        assert "[quadratic]" in hit.snippet and len(hit.snippet) < 70
        only_title = ls.search("quadratic", highlight={"fields": ["title"]})[0]
        assert set(only_title.highlights) <= {"title"}
        assert ls.search("quadratic", highlight=False)[0].snippet == ""
        with pytest.raises(InvalidArgumentError, match="fragment_chars"):
            ls.search("quadratic", highlight={"fragment_chars": 0})
        with pytest.raises(InvalidArgumentError, match="unknown highlight option"):
            ls.search("quadratic", highlight={"colour": "red"})
        with pytest.raises(InvalidArgumentError, match="not a stored TEXT field"):
            ls.search("quadratic", highlight={"fields": ["id"]})


def _build_one(s, body):
    path = s.directory.parent / "one"
    ix = Index.create(path, _schema(), overwrite=True)
    with ix.writer() as w:
        w.add({"id": "x", "title": "A title", "body": body})
    return ix


def test_fragments_never_cut_a_word_nor_a_phrase(s):
    body = " ".join(f"word{i} filler" for i in range(300)) + " hash table " + " ".join(["tail"] * 200)
    ix = _build_one(s, body)
    with ix.searcher() as ls:
        hit = ls.search('"hash table" OR word7 OR word150', highlight={"fragment_chars": 60, "formatter": "plain"})[0]
        assert "[hash table]" in hit.snippet
        for fragment in hit.snippet.replace("…", "\n").split("\n"):
            fragment = fragment.strip().replace("[", "").replace("]", "")
            if fragment:
                assert f" {fragment} " in f" {body} ", fragment  # whole words only


def test_an_index_without_offsets_marks_the_same(tmp_path, ix):
    plain = _build(tmp_path / "no-offsets", offsets=False)
    with ix.searcher() as a, plain.searcher() as b:
        assert all(fr.offsets is None for r in b.readers for fr in r.fields.values())
        for query in ("connectives", "title:quadratic", '"hash table"', '"table hash"~2', "quadr*", "script",
                      "alert OR bell", "quadratic -title:hash"):
            ha, hb = a.search(query), b.search(query)
            assert [h.id for h in ha] == [h.id for h in hb]
            assert [h.snippet for h in ha] == [h.snippet for h in hb], query
            assert [h.highlights for h in ha] == [h.highlights for h in hb], query


def test_phrase_matches_are_the_scoring_matches(s):
    reader = s.readers[0]
    fr = reader.fields["body"]
    doc = 1  # id "2"
    exact = phrase_matches(fr, PhraseLeaf("body", [(0, "hash"), (1, "tabl")]), [1, 1], doc)
    assert exact.tolist() == [[5, 6]]
    sloppy = phrase_matches(fr, PhraseLeaf("body", [(0, "tabl"), (1, "hash")], slop=2), [2, 2], doc)
    assert sorted(map(tuple, sloppy.tolist())) == [(6, 5), (10, 12)]
    assert not len(phrase_matches(fr, PhraseLeaf("body", [(0, "hash"), (1, "tabl")]), [1, 1], 0))


# -- properties --------------------------------------------------------------------------------

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "the", "of", "Beta", "GAMMA", "alphas"]
EN = get_analyzer("english")


@st.composite
def _documents(draw):
    n = draw(st.integers(1, 6))
    docs = []
    for i in range(n):
        words = draw(st.lists(st.sampled_from(WORDS), min_size=0, max_size=60))
        seps = draw(st.lists(st.sampled_from([" ", " ", ". ", ", ", "\n", "  "]), min_size=len(words),
                             max_size=len(words)))
        docs.append({"id": str(i), "title": " ".join(words[:3]),
                     "body": "".join(w + sep for w, sep in zip(words, seps)).strip()})
    return docs


_QUERIES = st.one_of(
    st.lists(st.sampled_from(["alpha", "beta", "gamma", "omega"]), min_size=1, max_size=3).map(" OR ".join),
    st.tuples(st.sampled_from(["alpha", "beta"]), st.sampled_from(["gamma", "delta"])).map(lambda t: f'"{t[0]} {t[1]}"'),
    st.sampled_from(["body:beta", "title:alpha", "alph*", "gamma -omega"]))


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(docs=_documents(), query=_QUERIES)
def test_marks_are_matches_and_unmarked_text_is_stored_text(tmp_path_factory, docs, query):
    path = tmp_path_factory.mktemp("prop") / "ix"
    ix = Index.create(path, _schema())
    with ix.writer() as w:
        for d in docs:
            w.add(d)
    excluded = {"omeg"} if "-omega" in query else set()
    phrase = re.fullmatch(r'"(\w+) (\w+)"', query)
    with ix.searcher() as s:
        for hit in s.search(query, highlight={"formatter": "plain", "max_fragments": 2, "fragment_chars": 40}):
            for fname, shown in hit.highlights.items():
                stored = re.sub(r"\s+", " ", hit.fields[fname])
                for marked in re.findall(r"\[([^\]]*)\]", shown):
                    terms = [t.term for t in EN(marked)]
                    assert terms and not excluded & set(terms), (query, marked)
                    if phrase:
                        assert terms == [t.term for t in EN(phrase.group(1) + " " + phrase.group(2))]
                    field = re.match(r"(\w+):", query)
                    assert field is None or field.group(1) == fname
                for piece in shown.split("…"):
                    piece = piece.replace("[", "").replace("]", "").strip()
                    assert piece in stored, (piece, stored)
