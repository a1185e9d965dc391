"""The query language (parser and AST) and search semantics, including BM25 scores checked by hand."""
from __future__ import annotations

import math
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from searchlib import (ID, TEXT, Boolean, Every, Index, Nothing, Phrase, Query, QuerySyntaxError, Schema, Term,
                       parse_query)
from searchlib.analysis import get_analyzer

from conftest import ids, ranked

FIELDS = {"title", "body", "id"}


def parse(text, **kw):
    return parse_query(text, fields=FIELDS, **kw)


def T(text, field=None, boost=1.0):
    return Term(field, text, boost)


# -- parser: each construct -------------------------------------------------------------------

def test_bare_words_or_by_default_and_selectable():
    assert parse("a") == T("a")
    assert parse("a b c") == Boolean(should=(T("a"), T("b"), T("c")))
    assert parse("a b", default_operator="AND") == Boolean(must=(T("a"), T("b")))
    with pytest.raises(ValueError):
        parse("a b", default_operator="XOR")


def test_phrases():
    assert parse('"late miscarriage"') == Phrase(None, ["late", "miscarriage"])
    assert parse('"one"') == Phrase(None, ("one",))
    assert parse('"a  b\tc"') == Phrase(None, ("a", "b", "c"))
    assert parse('x "a b" y') == Boolean(should=(T("x"), Phrase(None, ("a", "b")), T("y")))
    assert parse('""') == Nothing()


def test_required_and_excluded():
    assert parse("+a b -c") == Boolean(must=(T("a"),), should=(T("b"),), must_not=(T("c"),))
    assert parse("-a") == Boolean(must_not=(T("a"),))
    assert parse('+"a b" -"c d"') == Boolean(must=(Phrase(None, "a b"),), must_not=(Phrase(None, "c d"),))
    # a lone + or - or one before a space is a plain word, and a hyphen inside a word stays in it
    assert parse("a - b") == Boolean(should=(T("a"), T("-"), T("b")))
    assert parse("e-mail") == T("e-mail")


def test_operator_precedence_not_and_or():
    a, b, c, d = T("a"), T("b"), T("c"), T("d")
    assert parse("a AND b") == Boolean(must=(a, b))
    assert parse("a OR b") == Boolean(should=(a, b))
    assert parse("a OR b AND c") == Boolean(should=(a, Boolean(must=(b, c))))
    assert parse("a AND b OR c AND d") == Boolean(should=(Boolean(must=(a, b)), Boolean(must=(c, d))))
    assert parse("NOT a AND b") == Boolean(must=(b,), must_not=(a,))
    assert parse("a AND NOT b OR c") == Boolean(should=(Boolean(must=(a,), must_not=(b,)), c))
    assert parse("NOT a") == Boolean(must_not=(a,))
    assert parse("a NOT b") == Boolean(should=(a,), must_not=(b,))
    # juxtaposition sits between AND and OR
    assert parse("a b OR c") == Boolean(should=(Boolean(should=(a, b)), c))
    assert parse("a b AND c") == Boolean(should=(a, Boolean(must=(b, c))))
    # lower-case operators are words
    assert parse("a and b") == Boolean(should=(a, T("and"), b))


def test_parentheses():
    a, b, c = T("a"), T("b"), T("c")
    assert parse("(a OR b) AND c") == Boolean(must=(Boolean(should=(a, b)), c))
    assert parse("a AND (b OR c)") == Boolean(must=(a, Boolean(should=(b, c))))
    assert parse("((a))") == a
    assert parse("-(a b)") == Boolean(must_not=(Boolean(should=(a, b)),))
    assert parse("NOT (a OR b) c") == Boolean(should=(c,), must_not=(Boolean(should=(a, b)),))


def test_fields():
    assert parse("title:word") == T("word", "title")
    assert parse('title:"a phrase"') == Phrase("title", ("a", "phrase"))
    assert parse("title:(a OR b)") == Boolean(should=(T("a", "title"), T("b", "title")))
    assert parse("title:(a -b)") == Boolean(should=(T("a", "title"),), must_not=(T("b", "title"),))
    assert parse("title:(a body:b)") == Boolean(should=(T("a", "title"), T("b", "body")))
    assert parse("-title:x +body:y") == Boolean(must=(T("y", "body"),), must_not=(T("x", "title"),))
    assert parse("title:-x") == T("-x", "title")
    # without a field list any name is accepted
    assert parse_query("whatever:x") == T("x", "whatever")


def test_boosts():
    assert parse("a^2") == T("a", boost=2.0)
    assert parse("a^0.5 b") == Boolean(should=(T("a", boost=0.5), T("b")))
    assert parse('"a b"^3') == Phrase(None, ("a", "b"), 3.0)
    assert parse("(a b)^.25") == Boolean(should=(T("a"), T("b")), boost=0.25)
    assert parse("title:a^4") == T("a", "title", 4.0)
    assert parse("*:*^2") == Every(2.0)


def test_match_all_and_escapes():
    assert parse("*:*") == Every()
    assert parse("*:* -a") == Boolean(should=(Every(),), must_not=(T("a"),))
    assert parse(r"\+word") == T("+word")
    assert parse(r"\-word") == T("-word")
    assert parse(r"a\:b") == T("a:b")
    assert parse(r"\(x\)") == T("(x)")
    assert parse(r"\AND") == T("AND")
    assert parse(r"x\ y") == T("x y")
    assert parse(r'"say \"hi\" now"') == Phrase(None, ("say", '"hi"', "now"))
    assert parse(r'"back\\slash"') == Phrase(None, ("back\\slash",))


def test_empty_query_is_nothing():
    assert parse("") == Nothing()
    assert parse("   \t\n") == Nothing()


# -- parser: errors (each error's column and reason: test_query_parser.py) ----------------------

def test_deep_nesting_is_an_error_not_a_crash():
    with pytest.raises(QuerySyntaxError, match="nested"):
        parse("(" * 200 + "a" + ")" * 200)
    assert parse("(" * 30 + "a" + ")" * 30) == T("a")


def test_lenient_reads_words():
    assert parse("(a b", lenient=True) == Boolean(should=(T("a"), T("b")))
    assert parse('title:"unclosed', lenient=True) == Boolean(should=(T("title"), T("unclosed")))
    assert parse("AND OR", lenient=True) == Boolean(should=(T("AND"), T("OR")))
    assert parse("((", lenient=True) == Nothing()
    assert parse("(x y", lenient=True, default_operator="AND") == Boolean(must=(T("x"), T("y")))


QUERY_ALPHABET = st.sampled_from(list('ab  ()"+-^:*\\\x00\x1b\x7f\u200b\u00a0\n\t€é') +
                                 ["AND ", "OR ", "NOT ", "title:", "nope:", "^2", "((((((((", "))))", "*:*"])


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.one_of(st.text(max_size=60), st.lists(QUERY_ALPHABET, max_size=40).map("".join),
                      st.integers(1, 300).map(lambda n: "(" * n + "x" + ")" * (n // 2))),
       op=st.sampled_from(["OR", "AND"]))
def test_lenient_never_raises(text, op):
    q = parse(text, lenient=True, default_operator=op)
    assert isinstance(q, Query)
    try:
        strict = parse(text, default_operator=op)
    except QuerySyntaxError as exc:
        assert 1 <= exc.column <= len(text) + 1
    else:
        assert strict == q  # lenient agrees with strict whenever strict succeeds


ROUND_TRIP = [
    "a", "a b c", "+a -b c", '"late miscarriage" storyline -film', 'title:storyline "late miscarriage" -film',
    "a AND b", "a OR b AND c", "NOT a AND b", "a AND NOT b OR c", "(a OR b) AND (c OR d)", "title:(a OR b) c",
    'body:"x y"^2 z^0.5', "(a b)^3", "*:*", "*:* -a", r"\+plus \-minus a\:b \(p\)", r'"say \"hi\""', r"\AND \OR",
    "a -(b c)", "e-mail x&y", "NOT (a OR NOT b)", '"" a', 'title:"" b', "x OR NOT y", "+(a b) +(c d)",
    "a b OR c d", "é ü 中文", "a^2 (b c)^0.5 \"d e\"^4",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_str_parses_back_to_an_equal_query(text):
    q = parse(text)
    assert parse(str(q)) == q, str(q)
    assert parse(str(q), default_operator="OR") == q


WORDS = st.one_of(st.text(alphabet=st.sampled_from(list('ab:+-"\\()^*! &|/~?[]{}é')), min_size=1, max_size=5),
                  st.sampled_from(["AND", "OR", "NOT", "TO", "*", "a*"]))
LEAVES = st.one_of(
    st.builds(Term, st.sampled_from([None, "title", "body"]), WORDS, st.sampled_from([1.0, 2.0, 0.5])),
    st.builds(Phrase, st.sampled_from([None, "title"]),
              st.lists(WORDS.filter(lambda w: w.strip() == w and " " not in w), min_size=1, max_size=3),
              st.sampled_from([1.0, 3.0])),
    st.builds(Every, st.sampled_from([1.0, 2.0])),
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(q=LEAVES)
def test_leaf_str_round_trips_exactly(q):
    assert parse(str(q)) == q


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(q=st.recursive(LEAVES, lambda kids: st.builds(
    lambda m, s, n, b: Boolean(tuple(m), tuple(s), tuple(n), b),
    st.lists(kids, min_size=1, max_size=2), st.lists(kids, max_size=2), st.lists(kids, max_size=2),
    st.sampled_from([1.0, 2.0])), max_leaves=6))
def test_composed_query_str_parses(q):
    once = parse(str(q))
    assert parse(str(once)) == once


def test_python_composition():
    q = Term("body", "cat") & ~Phrase("body", "black dog") | Term("body", "fish")
    assert q == parse('body:cat AND NOT body:"black dog" OR body:fish')
    assert (T("a") & T("b")) & T("c") == Boolean(must=(T("a"), T("b"), T("c")))
    assert T("a") | T("b") | T("c") == Boolean(should=(T("a"), T("b"), T("c")))
    assert ~T("a") == Boolean(must_not=(T("a"),))
    assert T("a").boosted(2).boosted(3) == T("a", boost=6.0)
    assert Phrase("f", "x y") == Phrase("f", ["x", "y"])


# -- search semantics on a hand-made corpus ---------------------------------------------------

DOCS = [
    ("1", "Fox story", "The quick brown fox jumps over the lazy dog."),
    ("2", "Dog days", "A lazy afternoon: the dog sleeps in the sun."),
    ("3", "Morning routine", "She runs ten miles every morning."),
    ("4", "Annual report", "At the end of the year the company reports profits."),
    ("5", "Fiscal calendar", "The end of the fiscal year is in June."),
    ("6", "Short story", "The year began and the end came quickly."),
    ("7", "Bears", "Brown bears and black bears live in the forest."),
    ("8", "Hound tale", "The fox and the hound are friends."),
    ("9", "Cats", "Cats chase mice; the cat is quick."),
    ("10", "Barking", "A black dog barks at the brown fox, the fox runs."),
    ("11", "Fish", "Fishing in the river: trout, salmon and more fish."),
    ("12", "Stop words only", "the and of"),
    ("13", "Chaos", "Dogs and cats living together."),
    ("14", "Quarterly", "Profits rose at the end of the quarter."),
    ("15", "Empty body", ""),
    ("16", "Black dog", "Black dog, black dog: a song about a black dog and a black cat."),
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("query") / "ix"
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    body=TEXT(analyzer="english", stored=True))
    ix = Index.create(path, schema)
    with ix.writer() as w:
        for i, (key, title, body) in enumerate(DOCS):
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
    assert ids(corpus.search("-fox", limit=50)) == {d[0] for d in DOCS} - {"1", "8", "10"}
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
    assert corpus.search("*:*").total == len(DOCS)
    assert corpus.search("*:* -fox").total == len(DOCS) - 3


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
    key, title, body = next(d for d in DOCS if d[0] == hit.id)
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


BODIES = {key: body for key, _, body in DOCS}


@pytest.mark.parametrize("words", [["fox"], ["dog"], ["black", "dog"], ["fox", "dog", "cat"], ["profits", "end"],
                                   ["the", "year"], ["running"], ["salmon"]])
@pytest.mark.parametrize("k1, b", [(1.2, 0.75), (0.0, 0.5), (2.0, 0.0), (0.9, 1.0), (1.5, 0.3)])
def test_bm25_matches_reference(corpus, words, k1, b):
    expected = reference_bm25(words, BODIES, k1, b)
    res = corpus.search(" ".join(words), fields=["body"], limit=100, k1=k1, b=b, highlight=False)
    got = {h.id: h.score for h in res}
    assert set(got) == set(expected)
    for key, score in expected.items():
        assert got[key] == pytest.approx(score, abs=1e-4, rel=1e-5), key
    assert ranked(res) == sorted(got, key=lambda k: (-got[k], ranked(res).index(k)))


def test_bm25_index_settings_and_boosts(tmp_path):
    schema = Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="english", stored=True))
    ix = Index.create(tmp_path / "ix", schema, settings={"k1": 0.7, "b": 0.2})
    with ix.writer() as w:
        for key, _, body in DOCS:
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


def test_bm25_agrees_with_rank_bm25_up_to_idf(tmp_path):
    rank_bm25 = pytest.importorskip("rank_bm25")
    # rank_bm25's BM25Okapi has the same tf saturation and length normalisation, but a different
    # idf: log((N - df + 0.5) / (df + 0.5)) (negative for common terms, floored by epsilon) instead
    # of Lucene's log(1 + ...). So scores are not comparable across terms, but for a single-term
    # query every document's score is that term's idf times the same tf factor: our scores must be
    # proportional to BM25Okapi's, with the ratio of the two idfs, hence rank documents identically.
    # (BM25Plus/BM25L change the tf factor itself, so they are not comparable at all.)
    bodies = {k: v for k, v in BODIES.items() if ANALYZER.index_terms(v)[0]}
    keys = sorted(bodies)
    tokenized = [ANALYZER.index_terms(bodies[k])[0] for k in keys]
    k1, b = 1.2, 0.75
    okapi = rank_bm25.BM25Okapi(tokenized, k1=k1, b=b)
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True), body=TEXT(analyzer="english")))
    with ix.writer() as w:
        for k in keys:
            w.add({"id": k, "body": bodies[k]})
    with ix.searcher() as s:
        checked = 0
        for word in ("fox", "dog", "cat", "black", "end", "profits", "bears", "brown"):
            (term,) = ANALYZER.index_terms(word)[0]
            theirs = dict(zip(keys, okapi.get_scores([term])))
            df = sum(term in t for t in tokenized)
            if df * 2 >= len(keys):
                continue  # Okapi's idf is floored there; the comparison would not be meaningful
            ours = {h.id: h.score for h in s.search(word, limit=100, highlight=False)}
            assert set(ours) == {k for k, v in theirs.items() if v > 0}, word
            n = len(keys)
            ratio = math.log(1 + (n - df + 0.5) / (df + 0.5)) / math.log((n - df + 0.5) / (df + 0.5))
            for k, score in ours.items():
                assert score == pytest.approx(theirs[k] * ratio, rel=1e-4), (word, k)
            assert sorted(ours, key=lambda k: -ours[k]) == sorted(ours, key=lambda k: -theirs[k])
            checked += 1
        assert checked >= 6
