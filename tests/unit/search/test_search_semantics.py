"""Search semantics on a hand-made corpus (operators, phrases, exclusions, fields, stop words, counts
and pages, stemming, hits), and BM25 scores checked against an independent computation. Parsing the
query language: unit/query_parsing/; BM25 against rank_bm25: comparison/test_rank_bm25.py."""
from __future__ import annotations

import math
from collections import Counter

import pytest

from conftest import HAND_MADE_DOCS, ids, ranked
from searchlib import ID, TEXT, Index, Phrase, QuerySyntaxError, Schema, Term
from searchlib.analysis import get_analyzer

# -- search semantics on the hand-made corpus -------------------------------------------------

@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("query") / "ix"
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    body=TEXT(analyzer="english", stored=True))
    ix = Index.create(path, schema)
    with ix.writer() as w:
        for i, (key, title, body) in enumerate(HAND_MADE_DOCS):
            w.add({"id": key, "title": title, "body": body})
            if i == 7:
                w.commit()  # two segments: statistics must still be index-wide
    s = ix.searcher()
    assert len(s.readers) == 2
    yield s
    s.close()


def test_or_vs_and(corpus):
    assert ids(corpus.search("fox dog", limit=50)) == {"1", "2", "8", "10", "13", "16"}
    assert ids(corpus.search("fox dog", limit=50, operator="AND")) == {"1", "10"}
    assert ids(corpus.search("fox AND dog", limit=50)) == {"1", "10"}
    assert ids(corpus.search("fox OR dog", limit=50, operator="AND")) == {"1", "2", "8", "10", "13", "16"}


def test_phrase_adjacent_in_order(corpus):
    assert ids(corpus.search('"black dog"', limit=50)) == {"10", "16"}
    assert ids(corpus.search('"dog black"', limit=50)) == {"16"}  # "black dog, black dog" has dog then black
    assert ids(corpus.search('"brown fox"', limit=50)) == {"1", "10"}
    assert ids(corpus.search('"fox brown"', limit=50)) == set()
    assert ids(corpus.search('"quick fox"', limit=50)) == set()  # not adjacent
    assert ids(corpus.search("quick fox", limit=50, operator="AND")) == {"1"}


def test_phrase_across_stop_words(corpus):
    assert ids(corpus.search('"end of the year"', limit=50)) == {"4"}
    assert ids(corpus.search("end year", limit=50, operator="AND")) == {"4", "5", "6"}
    assert ids(corpus.search('"end of the quarter"', limit=50)) == {"14"}
    # the gap is part of the phrase: "end year" (no words between) does not match "end of the year"
    assert ids(corpus.search('"end year"', limit=50)) == set()


def test_phrase_frequency_raises_score(corpus):
    res = corpus.search('"black dog"', fields=["body"])
    assert ranked(res) == ["16", "10"]


def test_excluded_and_required(corpus):
    assert ids(corpus.search("fox -dog", limit=50)) == {"8"}
    assert ids(corpus.search("fox NOT dog", limit=50)) == {"8"}
    res = corpus.search("+fox dog", limit=50)
    assert ids(res) == {"1", "8", "10"}
    assert ranked(res)[-1] == "8"  # the optional word ranks the others higher
    assert ids(corpus.search("-fox", limit=50)) == {d[0] for d in HAND_MADE_DOCS} - {"1", "8", "10"}
    assert ids(corpus.search('+dog -"black dog"', limit=50)) == {"1", "2", "13"}


def test_field_restriction(corpus):
    assert ids(corpus.search("title:fox", limit=50)) == {"1"}
    assert ids(corpus.search("body:fox", limit=50)) == {"1", "8", "10"}
    assert ids(corpus.search("fox", fields=["title"], limit=50)) == {"1"}
    assert ids(corpus.search("title:(bears OR cats)", limit=50)) == {"7", "9"}
    assert ids(corpus.search("id:7", limit=50)) == {"7"}
    assert ids(corpus.search("title:dog body:cat", limit=50)) == {"2", "9", "13", "16"}


def test_only_stop_words_returns_nothing(corpus):
    for q in ("the of and", '"the of"', "+the", "title:the", "the AND of"):
        res = corpus.search(q)
        assert res.total == 0 and len(res) == 0, q
    res = corpus.search("the fox", limit=50)  # a stop word next to a real word is just ignored
    assert ids(res) == {"1", "8", "10"}


def test_every_and_pure_negation(corpus):
    assert corpus.search("*:*").total == len(HAND_MADE_DOCS)
    assert corpus.search("*:* -fox").total == len(HAND_MADE_DOCS) - 3


def test_total_counts_all_matches_while_limit_cuts(corpus):
    res = corpus.search("the dog OR fox OR black", limit=2)
    assert len(res) == 2
    assert res.total == len(corpus.search("the dog OR fox OR black", limit=100)) == 7
    assert corpus.search("dog", limit=0).total == 5
    assert len(corpus.search("dog", limit=0)) == 0


def test_offset_pagination_is_stable(corpus):
    q = "dog fox black brown cat end year"
    everything = corpus.search(q, limit=100)
    assert everything.total == len(everything) > 10
    pages = []
    for offset in range(0, everything.total + 3, 3):
        page = corpus.search(q, limit=3, offset=offset)
        assert page.total == everything.total
        assert [h.rank for h in page] == list(range(offset + 1, offset + 1 + len(page)))
        pages += ranked(page)
    assert pages == ranked(everything)
    assert corpus.search(q, limit=3, offset=1000).hits == []
    scores = [h.score for h in everything]
    assert scores == sorted(scores, reverse=True)


def test_stemming(corpus):
    assert ids(corpus.search("running", limit=50)) == {"3", "10"}  # "runs"
    assert ids(corpus.search("dogs", limit=50)) == ids(corpus.search("dog", limit=50))
    assert ids(corpus.search("Fishing", limit=50)) == {"11"}
    assert ids(corpus.search("title:BEAR", limit=50)) == {"7"}


def test_hit_attributes(corpus):
    res = corpus.search("lazy dog", limit=3)
    hit = res[0]
    assert hit.id in {"1", "2"} and hit.rank == 1
    assert isinstance(hit.score, float) and hit.score > 0
    key, title, body = next(d for d in HAND_MADE_DOCS if d[0] == hit.id)
    assert hit.fields == {"id": key, "title": title, "body": body}
    assert "<mark>lazy</mark>" in hit.snippet and "<mark>dog</mark>" in hit.snippet
    assert hit.passages and hit.passages[0].text == body
    assert (hit.passages[0].start, hit.passages[0].end) == (0, len(body))
    d = hit.to_dict()
    assert d["id"] == hit.id and d["fields"]["title"] == title
    assert res.to_dict()["total"] == res.total
    assert not corpus.search("lazy dog", highlight=False)[0].snippet


def test_query_objects_give_the_same_hits_as_strings(corpus):
    q = Term("body", "fox") & ~Phrase("body", "black dog") | Term("title", "cats")
    text = 'body:fox AND NOT body:"black dog" OR title:cats'
    a, b = corpus.search(q, limit=50), corpus.search(text, limit=50)
    assert ids(a) == {"1", "8", "9"}
    assert [(h.id, h.score) for h in a] == [(h.id, h.score) for h in b]
    # words in query objects are analysed like words in strings
    assert ids(corpus.search(Term("body", "Running"), limit=50)) == {"3", "10"}
    assert ids(corpus.search(Phrase(None, "End of the Year"), limit=50)) == {"4"}


def test_strict_errors_surface_from_search_and_lenient_does_not(corpus):
    with pytest.raises(QuerySyntaxError):
        corpus.search("(fox")
    with pytest.raises(QuerySyntaxError):
        corpus.search("colour:red")
    assert ids(corpus.search("(fox", lenient=True, limit=50)) == {"1", "8", "10"}


# -- BM25 against an independent computation --------------------------------------------------

ANALYZER = get_analyzer("english")


def reference_bm25(query_words, field_texts, k1, b, phrase=None):
    """Lucene-style BM25 over the analysed tokens: idf = log(1 + (N - df + 0.5) / (df + 0.5)),
    tf part = tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)). N and avgdl count the
    documents that have the field (Lucene's docCount), so empty fields do not dilute them."""
    docs = {key: ANALYZER.index_terms(text)[0] for key, text in field_texts.items()}
    docs = {key: toks for key, toks in docs.items() if toks}
    n = len(docs)
    avgdl = sum(len(t) for t in docs.values()) / n
    counts = {key: Counter(toks) for key, toks in docs.items()}

    def idf(term):
        df = sum(1 for c in counts.values() if term in c)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def tf_part(tf, dl):
        return tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))

    scores = {}
    terms = [t for w in query_words for t in ANALYZER.index_terms(w)[0]]
    for key, c in counts.items():
        s = sum(idf(t) * tf_part(c[t], len(docs[key])) for t in terms if c[t])
        if s:
            scores[key] = s
    return scores


BODIES = {key: body for key, _, body in HAND_MADE_DOCS}


@pytest.mark.parametrize("words", [["fox"], ["dog"], ["black", "dog"], ["fox", "dog", "cat"], ["profits", "end"],
                                   ["the", "year"], ["running"], ["salmon"]])
@pytest.mark.parametrize("k1, b", [(1.2, 0.75), (0.0, 0.5), (2.0, 0.0), (0.9, 1.0), (1.5, 0.3)])
def test_bm25_matches_reference(corpus, words, k1, b):
    expected = reference_bm25(words, BODIES, k1, b)
    res = corpus.search(" ".join(words), fields=["body"], limit=100, k1=k1, b=b, highlight=False, proximity=0)
    got = {h.id: h.score for h in res}
    assert set(got) == set(expected)
    for key, score in expected.items():
        assert got[key] == pytest.approx(score, abs=1e-4, rel=1e-5), key
    assert ranked(res) == sorted(got, key=lambda k: (-got[k], ranked(res).index(k)))


def test_bm25_index_settings_and_boosts(tmp_path):
    schema = Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="english", stored=True))
    ix = Index.create(tmp_path / "ix", schema, settings={"k1": 0.7, "b": 0.2, "proximity": 0})  # plain BM25
    with ix.writer() as w:
        for key, _, body in HAND_MADE_DOCS:
            w.add({"id": key, "body": body})
    with ix.searcher() as s:
        expected = reference_bm25(["dog", "cat"], BODIES, 0.7, 0.2)
        got = {h.id: h.score for h in s.search("dog cat", limit=100)}
        assert got == pytest.approx(expected, abs=1e-4)
        # a per-query override beats the index setting
        expected = reference_bm25(["dog"], BODIES, 1.2, 0.75)
        got = {h.id: h.score for h in s.search("dog", limit=100, k1=1.2, b=0.75)}
        assert got == pytest.approx(expected, abs=1e-4)
        # boosts multiply
        dog = reference_bm25(["dog"], BODIES, 0.7, 0.2)
        cat = reference_bm25(["cat"], BODIES, 0.7, 0.2)
        got = {h.id: h.score for h in s.search("dog^2 cat^0.5", limit=100)}
        want = {k: 2 * dog.get(k, 0) + 0.5 * cat.get(k, 0) for k in set(dog) | set(cat)}
        assert got == pytest.approx(want, abs=1e-4)


def test_bm25_phrase_score(corpus):
    # a phrase scores like one term whose idf is the sum of its words' idfs and whose tf is the
    # number of phrase occurrences (Lucene's PhraseQuery with BM25)
    k1, b = 1.2, 0.75
    docs = {key: ANALYZER.index_terms(text)[0] for key, text in BODIES.items()}
    docs = {k: t for k, t in docs.items() if t}
    n, avgdl = len(docs), sum(map(len, docs.values())) / len(docs)
    idf = sum(math.log(1 + (n - df + 0.5) / (df + 0.5))
              for df in (sum("black" in t for t in docs.values()), sum("dog" in t for t in docs.values())))
    want = {}
    for key in ("10", "16"):
        toks = docs[key]
        freq = sum(1 for i in range(len(toks) - 1) if toks[i:i + 2] == ["black", "dog"])
        want[key] = idf * freq * (k1 + 1) / (freq + k1 * (1 - b + b * len(toks) / avgdl))
    got = {h.id: h.score for h in corpus.search('"black dog"', fields=["body"])}
    assert got == pytest.approx(want, abs=1e-4)
