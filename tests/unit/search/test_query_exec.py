"""Executing every kind of query: prefix, wildcard, fuzzy, ranges, sloppy phrases, BM25F over several
fields, filters, sorting, pagination, explain and highlighting, on small hand-written corpora whose
expected matches are written out (and scores checked against independent computations); and what the
evaluators keep and compute: norms per BM25 parameters, the shared term lookup, unscored exclusions."""
from __future__ import annotations

import gc
import math
import warnings
import weakref
from collections import Counter

import numpy as np
import pytest

from searchlib.errors import InvalidArgumentError

from searchlib import (DATETIME, ID, KEYWORD, NUMERIC, TEXT, Boolean, ExpansionLimitWarning, Index, Phrase,
                       QuerySyntaxError, Schema, SchemaError, SearchlibError, Term)
from searchlib.analysis import get_analyzer
from searchlib.search import leaves as leaves_module, phrases as phrases_module
from searchlib.query.ast import Fuzzy, Prefix, Range, Wildcard

from conftest import ids, ranked

ANALYZER = get_analyzer("english-classic")

# id, title, body, tags, year, date. The english analyzer stems: story -> stori, stormy -> stormi,
# storyteller -> storytel, history -> histori; its stop words here are the, a, of, in, on, is, and.
DOCS = [
    ("1", "Story time", "The storyteller told a long story about storms.", "Fiction", 2010, "2010-05-01"),
    ("2", "Stormy weather", "A storm hit the coast; stormy nights followed.", None, 2015, "2015-01-31T23:00:00"),
    ("3", "Stone age", "Stone tools were found near the river.", "history", 2001, "2001-07-04"),
    ("4", "History", "The history of the world in one story.", "history fiction", 2020, "2020-01-01"),
    ("5", "Form and function", "The form of the building follows its function.", None, 2018, None),
    ("6", "From here", "From the station we walked home.", None, None, "2019-03-03"),
    ("7", "Farm life", "Life on the farm is quiet.", None, None, None),
    ("8", "Brown fox", "The quick brown fox jumps over the lazy dog.", None, 2010, None),
    ("9", "Fox and dog", "The dog is lazy, the fox is quick and brown.", None, 2010, "2010-05-01T12:00:00"),
]
ALL = {d[0] for d in DOCS}


def schema():
    return Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english-classic", stored=True),
                  body=TEXT(analyzer="english-classic", stored=True), tags=KEYWORD(lowercase=True, stored=True),
                  year=NUMERIC(), date=DATETIME())


def build(path, commit_after=(3,)):
    ix = Index.create(path, schema())
    with ix.writer() as w:
        for i, (key, title, body, tags, year, date) in enumerate(DOCS):
            doc = {"id": key, "title": title, "body": body}
            for name, value in (("tags", tags), ("year", year), ("date", date)):
                if value is not None:
                    doc[name] = value
            w.add(doc)
            if i in commit_after:
                w.commit()
    return ix


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    ix = build(tmp_path_factory.mktemp("exec") / "ix")
    searcher = ix.searcher()
    assert len(searcher.readers) == 2  # statistics must be index-wide
    yield searcher
    searcher.close()


def quiet_search(s, q, **kw):
    """A search that must not warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return s.search(q, limit=50, **kw)


# -- prefix -----------------------------------------------------------------------------------

def test_prefix_expands_over_the_dictionary(s):
    assert ids(quiet_search(s, Prefix("body", "stor"))) == {"1", "2", "4"}  # stori storm stormi storytel
    assert ids(quiet_search(s, Prefix("title", "stor"))) == {"1", "2"}
    assert ids(quiet_search(s, Prefix(None, "stor"))) == {"1", "2", "4"}  # default fields
    assert ids(quiet_search(s, "body:stor*")) == {"1", "2", "4"}
    assert ids(quiet_search(s, Prefix("body", "sto"))) == {"1", "2", "3", "4"}  # + stone
    assert ids(quiet_search(s, Prefix("tags", "hist"))) == {"3", "4"}
    assert ids(quiet_search(s, Prefix("id", "1"))) == {"1"}


def test_prefix_is_lower_cased_but_not_stemmed(s):
    lower = quiet_search(s, Prefix("body", "stor"))
    upper = quiet_search(s, Prefix("body", "STOR"))
    assert [(h.id, h.score) for h in upper] == [(h.id, h.score) for h in lower]
    assert ids(quiet_search(s, "body:Stor*")) == {"1", "2", "4"}
    # "stories" would stem to "stori", but a prefix is not stemmed: nothing starts with "stories"
    assert quiet_search(s, Prefix("body", "stories")).total == 0


def test_prefix_scores_as_or_of_its_terms(s):
    expanded = quiet_search(s, Prefix("body", "storm"))  # storm, stormi
    terms = quiet_search(s, Boolean(should=(Term("body", "storm"), Term("body", "stormy"))), proximity=0)  # no pair
    assert {h.id: h.score for h in expanded} == pytest.approx({h.id: h.score for h in terms}, rel=1e-6)


def test_expansion_that_finds_nothing_matches_nothing(s):
    assert quiet_search(s, Prefix("body", "zzz")).total == 0
    assert quiet_search(s, Prefix("body", "zzz") & Term("body", "story")).total == 0  # a required clause
    assert ids(quiet_search(s, Prefix("body", "zzz") | Term("body", "story"))) == {"1", "4"}
    assert ids(quiet_search(s, Term("body", "story") & ~Prefix("body", "zzz"))) == {"1", "4"}


def test_field_star_matches_documents_with_the_field(s):
    assert ids(quiet_search(s, "tags:*")) == {"1", "3", "4"}
    assert ids(quiet_search(s, Wildcard("title", "**"))) == ALL


# -- wildcard ---------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern, expected", [
    ("st?r*", {"1", "2", "4"}),  # stori storm stormi storytel, not stone
    ("st*e", {"3"}),  # stone
    ("*orm", {"1", "2", "5"}),  # storm, form: a leading wildcard scans the sorted term list
    ("*ori", {"1", "4"}),  # stori, histori
    ("?o*", {"1", "2", "3", "4", "5", "6", "8", "9"}),  # told long coast found world form follow home fox dog
    ("f?rm", {"5", "7"}),  # form, farm
    ("STORM?", {"2"}),  # lower-cased like the field: stormi
    ("a.e", set()),  # '.' is a literal, not a regex
    ("ag[e]", set()),
])
def test_wildcards(s, pattern, expected):
    assert ids(quiet_search(s, Wildcard("body" if pattern not in ("a.e", "ag[e]") else "title", pattern))) == expected


def test_wildcard_against_a_reference_match(s):
    import fnmatch
    terms = Counter(t for d in DOCS for t in ANALYZER.index_terms(d[2])[0])
    for pattern in ("*o*", "s*", "*t", "?i*", "*r?"):
        want_terms = {t for t in terms if fnmatch.fnmatchcase(t, pattern)}
        want = {d[0] for d in DOCS if want_terms & set(ANALYZER.index_terms(d[2])[0])}
        assert ids(quiet_search(s, Wildcard("body", pattern))) == want, pattern


# -- fuzzy ------------------------------------------------------------------------------------

def test_fuzzy_counts_a_transposition_as_one_edit(s):
    # title terms starting with f: form, from (swap of r and o), farm (one substitution), function, fox
    assert ids(quiet_search(s, Fuzzy("title", "form"))) == {"5", "6", "7"}
    assert ids(quiet_search(s, Fuzzy("title", "form", max_dist=0))) == {"5"}
    # hsitory -> hsitori is one swap from histori (a plain Levenshtein distance would be 2)
    assert ids(quiet_search(s, Fuzzy("title", "hsitory"))) == {"4"}
    assert ids(quiet_search(s, "title:hsitory~1")) == {"4"}
    assert ids(quiet_search(s, Fuzzy("title", "History"))) == {"4"}  # analysed like the field's words


def test_fuzzy_prefix_length_and_distance(s):
    assert ids(quiet_search(s, Fuzzy("title", "form", prefix_length=2))) == {"5"}  # only fo*: form, fox
    assert ids(quiet_search(s, Fuzzy("title", "orm", prefix_length=0))) == {"5"}  # form
    assert ids(quiet_search(s, Fuzzy("body", "stormy"))) == {"1", "2", "4"}  # stormi, storm, stori
    assert ids(quiet_search(s, Fuzzy("body", "fax", max_dist=2))) == {"7", "8", "9"}  # fox, farm


# -- expansion caps ---------------------------------------------------------------------------

def test_prefix_cap_keeps_the_most_frequent_terms_and_warns(s):
    # body terms starting with s: stori (2 docs), storm (2), stone, station, stormi, storytel (1 each)
    with pytest.warns(ExpansionLimitWarning, match="matches 6 terms"):
        res = s.search(Prefix("body", "s"), max_expansions=2)
    assert ids(res) == {"1", "2", "4"}  # stori and storm
    assert len(res.warnings) == 1 and "max_expansions=2" in res.warnings[0] and "'body'" in res.warnings[0]
    with pytest.warns(ExpansionLimitWarning):
        res = s.search(Prefix("body", "s"), max_expansions=1)
    assert ids(res) == {"1", "4"}  # stori and storm tie on frequency: the first in code-point order wins
    assert quiet_search(s, Prefix("body", "s")).warnings == []  # the default cap (1024) is not hit


def test_fuzzy_cap_keeps_the_closest(s):
    with pytest.warns(ExpansionLimitWarning):
        res = s.search(Fuzzy("title", "form"), max_expansions=2)
    assert ids(res) == {"5", "7"}  # form (exact), then farm before from (same distance and frequency)
    assert "fuzzy" in res.warnings[0]
    with pytest.warns(ExpansionLimitWarning):
        assert ids(s.search(Fuzzy("title", "form"), max_expansions=1)) == {"5"}


def test_wildcard_cap_and_warning_in_results_dict(s):
    with pytest.warns(ExpansionLimitWarning):
        res = s.search(Wildcard("body", "*o*"), max_expansions=3)
    assert res.to_dict()["warnings"] == res.warnings
    assert res.total > 0


# -- ranges -----------------------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    (Range("year", "2010", "2018"), {"1", "2", "5", "8", "9"}),
    (Range("year", "2010", "2018", False, False), {"2"}),
    (Range("year", "2010", "2018", True, False), {"1", "2", "8", "9"}),
    (Range("year", None, "2010"), {"1", "3", "8", "9"}),
    (Range("year", "2015", None, False, True), {"4", "5"}),
    (Range("year", None, None), {"1", "2", "3", "4", "5", "8", "9"}),  # documents with a year
    ("year:[2010 TO 2018}", {"1", "2", "8", "9"}),
    ("year:>=2018", {"4", "5"}),
    ("year:<2010", {"3"}),
    ("year:2010", {"1", "8", "9"}),
    ("year:[2010.5 TO 2015.0]", {"2"}),
])
def test_numeric_ranges(s, query, expected):
    assert ids(quiet_search(s, query)) == expected


@pytest.mark.parametrize("query, expected", [
    # a date (no time) stands for its whole day
    (Range("date", "2015-01-31", "2020-01-01"), {"2", "4", "6"}),
    (Range("date", "2015-01-31", "2020-01-01", False, False), {"6"}),
    (Range("date", "2010-05-01", "2010-05-01"), {"1", "9"}),
    ("date:2010-05-01", {"1", "9"}),
    (Range("date", "2010-05-01T06:00:00", None), {"9", "2", "6", "4"}),
    (Range("date", None, "2010-05-01T00:00:00", True, False), {"3"}),
    (Range("date", None, "2010-05-01T00:00:00"), {"1", "3"}),
    ("date:[2019-01-01 TO *]", {"4", "6"}),
    ("date:{* TO 2010-05-01]", {"1", "3", "9"}),
])
def test_date_ranges(s, query, expected):
    assert ids(quiet_search(s, query)) == expected


@pytest.mark.parametrize("query, expected", [
    # title terms: stori time stormi weather stone age histori form function from here farm life brown fox dog
    (Range("title", "f", "g"), {"5", "6", "7", "8", "9"}),  # farm form from function fox
    (Range("title", "farm", "fox", False, False), {"5"}),  # form only ("from" sorts after "fox")
    (Range("title", "farm", "fox"), {"5", "7", "8", "9"}),
    (Range("title", "FARM", "FOX", False, True), {"5", "8", "9"}),  # ends lower-cased like the field
    (Range("title", None, "b"), {"3"}),  # age
    (Range("title", "w", None), {"2"}),  # weather
    (Range("tags", "FICTION", None), {"1", "3", "4"}),  # keyword terms fiction, history
    (Range("tags", None, "fiction", True, False), set()),
    (Range("id", "3", "5"), {"3", "4", "5"}),
    ("title:{farm TO fox}", {"5"}),
])
def test_term_ranges(s, query, expected):
    assert ids(quiet_search(s, query)) == expected


def test_ranges_are_constant_score(s):
    res = quiet_search(s, Range("year", "2010", "2018").boosted(3))
    assert {h.score for h in res} == {3.0}
    res = quiet_search(s, "title:[a TO z]^2")
    assert {h.score for h in res} == {2.0} and res.total == len(DOCS)
    # a range added to words shifts their scores by its boost
    words = {h.id: h.score for h in quiet_search(s, "body:story")}
    both = {h.id: h.score for h in quiet_search(s, "+body:story +year:[2000 TO 2030]")}
    assert both == pytest.approx({k: v + 1.0 for k, v in words.items()})


def test_bad_range_values(s):
    with pytest.raises(QuerySyntaxError):
        s.search("year:[abc TO 2010]")
    with pytest.raises(QuerySyntaxError):
        s.search(Range("date", "yesterday", None))
    with pytest.raises(QuerySyntaxError):
        s.search(Prefix("year", "20"))  # no dictionary to expand on a numeric field
    assert ids(s.search("year:[abc TO 2010] fox", lenient=True)) == {"8", "9"}


# -- sloppy phrases ---------------------------------------------------------------------------

@pytest.mark.parametrize("words, slop, expected", [
    # doc 8 positions: quick 1 brown 2 fox 3 jump 4 over 5 lazi 7 dog 8
    # doc 9 positions: dog 1 lazi 3 fox 5 quick 7 brown 9
    ("quick fox", 0, set()),
    ("quick fox", 1, {"8"}),
    ("quick fox", 2, {"8"}),
    ("quick fox", 3, {"8", "9"}),  # in doc 9 fox comes 2 before quick: spread 3
    ("fox quick", 1, {"9"}),
    ("fox quick", 3, {"8", "9"}),
    ("brown quick", 1, set()),  # swapping two adjacent words costs 2
    ("brown quick", 2, {"8"}),
    ("brown fox", 0, {"8"}),
    ("lazy dog", 0, {"8"}),
    ("dog lazy", 2, {"8", "9"}),
    ("quick brown fox", 0, {"8"}),
    ("fox brown quick", 3, {"9"}),  # reversing three words costs 4
    ("fox brown quick", 4, {"8", "9"}),
])
def test_sloppy_phrase_matches(s, words, slop, expected):
    assert ids(quiet_search(s, Phrase("body", words, slop=slop))) == expected
    text = f'body:"{words}"' + (f"~{slop}" if slop else "")
    assert ids(quiet_search(s, text)) == expected


@pytest.fixture(scope="module")
def apples(tmp_path_factory):
    ix = Index.create(tmp_path_factory.mktemp("apples") / "ix",
                      Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="standard", stored=True)))
    texts = {"a": "red apple tree one two three",  # exact: frequency 1
             "b": "red big apple one two three",  # one word between: 1/2
             "c": "red apple x red apple y",  # two exact occurrences: 2
             "d": "apple red one two three four"}  # reversed: spread 2: 1/3
    with ix.writer() as w:
        for key, text in texts.items():
            w.add({"id": key, "body": text})
    with ix.searcher() as searcher:
        yield searcher, texts


def test_sloppy_frequency_decides_the_ranking(apples):
    s, texts = apples
    res = s.search('"red apple"~2', limit=10)
    assert ranked(res) == ["c", "a", "b", "d"]
    # scores: BM25 with the sloppy frequency as tf; all documents have 6 tokens, so dl = avgdl and
    # the length norm k1 * (1 - b + b * dl / avgdl) is k1 whatever b is
    k1, n = 1.2, 4
    idf = sum(math.log(1 + (n - df + 0.5) / (df + 0.5)) for df in (4, 4))
    freqs = {"a": 1.0, "b": 0.5, "c": 2.0, "d": 1 / 3}
    want = {k: idf * f * (k1 + 1) / (f + k1) for k, f in freqs.items()}
    assert {h.id: h.score for h in res} == pytest.approx(want, rel=1e-5)
    assert ids(s.search('"red apple"~1')) == {"a", "b", "c"}


def test_sloppy_phrase_with_a_repeated_word_needs_two_occurrences(apples):
    s, _ = apples
    # c: apple@1 and apple@4 give p - o of 1 and 3 (spread 2); one apple cannot fill both places
    assert ids(s.search('"apple apple"~2')) == {"c"}
    assert ids(s.search('"apple apple"~1')) == set()
    assert ids(s.search('"red red apple"~5')) == {"c"}


def test_each_occurrence_of_the_rarest_word_anchors_one_match(tmp_path, monkeypatch):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="standard")))
    with ix.writer() as w:
        w.add({"id": "one", "body": "a b c"})
        w.add({"id": "dense", "body": "a a b"})  # b anchors one match, its tightest (a@1): frequency 1
        w.add({"id": "long", "body": "x b y " * 2000 + "a " * 3000})
        w.add({"id": "extra", "body": "a"})  # a is in more documents than b: b is the anchor word
    with ix.searcher() as s:
        res = {h.id: h.score for h in s.search('"a b"~2')}
        assert set(res) == {"one", "dense"} and res["one"] == pytest.approx(res["dense"], rel=1e-6)
        # dense repeats and a huge slop stay linear: every b and every a could pair up (2000 x 3000
        # candidate pairs), yet the arrays the evaluation builds hold a bounded number of elements
        # per indexed token. Counted, not timed.
        tokens = 3 + 3 + 3 * 2000 + 3000 + 1
        for query in ('"b y x a"~999999999', '"a x a b a"~999999999'):
            counting = _CountingNumpy()
            monkeypatch.setattr(phrases_module, "np", counting)
            assert s.search(query).total == 1
            monkeypatch.undo()
            assert counting.calls > 0
            assert counting.produced <= 150 * tokens, query  # pairing them all would be 6M elements


class _CountingNumpy:
    """Stands in for numpy in searchlib.search.phrases: adds the size of every array its functions
    (and ufuncs) return to `produced`; types and constants pass through unchanged."""

    def __init__(self):
        self.produced = 0
        self.calls = 0

    def __getattr__(self, name):
        attr = getattr(np, name)
        if isinstance(attr, type) or not callable(attr):
            return attr
        return _CountedFunction(self, attr)


class _CountedFunction:
    def __init__(self, owner: _CountingNumpy, function):
        self.owner, self.function = owner, function

    def __getattr__(self, name):  # ufunc methods such as np.minimum.at, passed through
        return getattr(self.function, name)

    def __call__(self, *args, **kwargs):
        out = self.function(*args, **kwargs)
        self.owner.calls += 1
        for value in out if isinstance(out, tuple) else (out,):
            if isinstance(value, np.ndarray):
                self.owner.produced += value.size
        return out


def test_sloppy_three_words(apples):
    s, _ = apples
    # doc a: red 0 apple 1 tree 2. "tree red apple": tree-0=2, red-1=-1, apple-2=-1: spread 3
    assert ids(s.search('"tree red apple"~2')) == set()
    assert ids(s.search('"tree red apple"~3')) == {"a"}
    assert ids(s.search('"red apple tree"')) == {"a"}
    assert ids(s.search('"red apple tree"~1')) == {"a"}


# -- BM25F ------------------------------------------------------------------------------------

def bm25f_reference(words, docs, weights, k1=1.2, b=0.75, passages_of=None):
    """Independent BM25F. docs: {key: {field: text}}; weights: {field: w}. For `passages_of` (a
    field split on blank lines) each passage is scored with the other fields' document-level
    frequencies and the document keeps its best passage."""
    def toks(text):
        return ANALYZER.index_terms(text)[0]

    units = {}  # (key, field) -> list of token lists (one per unit)
    for key, fields in docs.items():
        for f in weights:
            text = fields.get(f, "")
            if f == passages_of:
                units[key, f] = [toks(p) for p in text.split("\n\n")] if text else []
            else:
                units[key, f] = [toks(text)]
    avg = {}
    for f in weights:
        lengths = [len(u) for key in docs for u in units[key, f] if u]
        avg[f] = sum(lengths) / len(lengths)
    n = len(docs)
    scores = {}
    for key in docs:
        per_unit = []
        split = units.get((key, passages_of), [[]]) if passages_of else [[]]
        for passage in (split or [[]]):
            total = 0.0
            for word in words:
                (term,) = toks(word)
                df = sum(1 for k in docs if any(term in u for f in weights for u in units[k, f]))
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                tf_ = 0.0
                for f, w in weights.items():
                    unit = passage if f == passages_of else units[key, f][0]
                    if unit.count(term):
                        tf_ += w * unit.count(term) / (1 - b + b * len(unit) / avg[f])
                if tf_:
                    total += idf * tf_ * (k1 + 1) / (k1 + tf_)
            per_unit.append(total)
        if max(per_unit) > 0:
            scores[key] = max(per_unit)
    return scores


FIELD_TEXTS = {d[0]: {"title": d[1], "body": d[2]} for d in DOCS}


@pytest.mark.parametrize("words", [["story"], ["storm"], ["fox", "dog"], ["story", "history", "stone"],
                                   ["quick", "brown", "lazy"]])
@pytest.mark.parametrize("weights", [None, {"title": 2.0, "body": 1.0}, {"title": 0.5, "body": 3.0}])
@pytest.mark.parametrize("k1, b", [(1.2, 0.75), (2.0, 0.3), (0.0, 0.5)])
def test_bm25f_matches_reference(s, words, weights, k1, b):
    fields = weights or {"title": 1.0, "body": 1.0}
    want = bm25f_reference(words, FIELD_TEXTS, fields, k1, b)
    res = s.search(" ".join(words), limit=50, fields=weights, k1=k1, b=b, highlight=False, proximity=0)
    got = {h.id: h.score for h in res}
    assert set(got) == set(want)
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_word_in_one_field_keeps_plain_bm25(s):
    docs = {k: ANALYZER.index_terms(t["title"])[0] for k, t in FIELD_TEXTS.items()}
    n, avg = len(docs), sum(map(len, docs.values())) / len(docs)
    df = sum("fox" in t for t in docs.values())
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    want = {k: idf * 2.2 / (1 + 1.2 * (0.25 + 0.75 * len(t) / avg)) for k, t in docs.items() if "fox" in t}
    assert {h.id: h.score for h in s.search("title:fox")} == pytest.approx(want, rel=1e-5)
    assert {h.id: h.score for h in s.search("fox", fields=["title"])} == pytest.approx(want, rel=1e-5)


def test_bm25f_scores_do_not_depend_on_segments(s, tmp_path):
    one = build(tmp_path / "one", commit_after=())
    with one.searcher() as single:
        assert len(single.readers) == 1
        for q in ("story storm", "fox OR dog", Prefix(None, "stor"), "stormy~", '"quick fox"~3', "body:s*"):
            a = {h.id: h.score for h in s.search(q, limit=50)}
            b = {h.id: h.score for h in single.search(q, limit=50)}
            assert a == pytest.approx(b, rel=1e-6), q


PASSAGE_DOCS = {
    "ice": {"title": "Glaciers of Iceland",
            "body": "Iceland has glaciers.\n\nGlaciers calve icebergs into the sea.\n\nGeothermal heat warms homes."},
    "alps": {"title": "Alps", "body": "Alpine glaciers retreat.\n\nSki resorts worry about snow."},
    "plain": {"title": "Glacier", "body": "Nothing here about ice.\n\nOr here."},
    "snow": {"title": "Snow", "body": "Snow falls.\n\nMore snow and glaciers and glacier ice."},
    "empty": {"title": "Snow glacier", "body": ""},
}


@pytest.fixture(scope="module")
def psearcher(tmp_path_factory):
    ix = Index.create(tmp_path_factory.mktemp("passages") / "ix",
                      Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english-classic", stored=True),
                             body=TEXT(analyzer="english-classic", stored=True, passages="paragraph"),
                             tags=KEYWORD(stored=True), year=NUMERIC()))
    with ix.writer() as w:
        for i, (key, fields) in enumerate(PASSAGE_DOCS.items()):
            w.add({"id": key, **fields, "tags": "cold" if i % 2 else "ice", "year": 2000 + i})
            if i == 2:
                w.commit()
    with ix.searcher() as searcher:
        yield searcher


@pytest.mark.parametrize("words", [["glacier"], ["snow"], ["glacier", "snow"], ["ice", "iceland", "home"]])
@pytest.mark.parametrize("weights", [None, {"title": 3.0, "body": 1.0}])
def test_bm25f_with_passages_matches_reference(psearcher, words, weights):
    fields = weights or {"title": 1.0, "body": 1.0}
    want = bm25f_reference(words, PASSAGE_DOCS, fields, passages_of="body")
    res = psearcher.search(" ".join(words), limit=50, fields=weights, proximity=0)
    got = {h.id: h.score for h in res}
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)
    for hit in res:
        assert hit.passages[0].score == hit.score


# -- boolean scores ---------------------------------------------------------------------------

def test_a_failed_group_adds_no_partial_score(s):
    story = {h.id: h.score for h in s.search("body:story")}
    storm, coast = ({h.id: h.score for h in s.search(f"body:{w}")} for w in ("storm", "coast"))
    got = {h.id: h.score for h in s.search("(body:storm AND body:coast) OR body:story")}
    # doc 1 has storm and story but no coast: only story counts
    assert got == pytest.approx({"1": story["1"], "4": story["4"], "2": storm["2"] + coast["2"]}, rel=1e-6)
    long_ = {h.id: h.score for h in s.search("body:long")}
    got = {h.id: h.score for h in s.search("(body:story -body:storyteller) OR body:long")}
    assert got == pytest.approx({"1": long_["1"], "4": story["4"]}, rel=1e-6)


def test_composed_query_objects(s):
    q = Prefix("title", "stor") | Term("body", "fox") & ~Fuzzy("title", "fix")
    assert ids(quiet_search(s, q)) == {"1", "2"}  # both fox documents have fox in the title
    q = Prefix("title", "stor") | Range("year", "2018", None)
    assert ids(quiet_search(s, q)) == {"1", "2", "4", "5"}


# -- filters ----------------------------------------------------------------------------------

def test_filters_restrict_without_changing_scores(s):
    base = {h.id: h.score for h in s.search("story OR fox OR storm", limit=50)}
    assert set(base) == {"1", "2", "4", "8", "9"}
    cases = [
        ("year:[2010 TO 2015]", {"1", "2", "8", "9"}),
        (Range("year", "2015", None), {"2", "4"}),
        ({"year": (2015, None)}, {"2", "4"}),
        ({"year": (None, 2010)}, {"1", "8", "9"}),
        ({"year": 2010}, {"1", "8", "9"}),
        ({"year": [2015, 2020]}, {"2", "4"}),
        ({"tags": "fiction"}, {"1", "4"}),
        ({"tags": ["history", "Fiction"]}, {"1", "4"}),
        ({"id": ["1", "9", "nope"]}, {"1", "9"}),
        ({"title": "brown fox"}, {"8"}),
        ({"date": ("2010-05-01", "2015-12-31")}, {"1", "2", "9"}),
        ({"year": (2010, 2010), "tags": "fiction"}, {"1"}),
        ({"year": []}, set()),
        ("-title:fox", {"1", "2", "4"}),
        ("the", set()),  # only stop words: matches nothing
    ]
    for spec, expected in cases:
        res = s.search("story OR fox OR storm", limit=50, filter=spec)
        assert ids(res) == expected, spec
        assert res.total == len(expected)
        for h in res:
            assert h.score == base[h.id], spec
    import datetime
    res = s.search("*:*", filter={"date": (datetime.date(2019, 3, 3), None)})
    assert ids(res) == {"4", "6"}


def test_filter_errors(s):
    with pytest.raises(SchemaError):
        s.search("fox", filter={"colour": "red"})
    with pytest.raises(QuerySyntaxError):
        s.search("fox", filter="year:[2010 TO")  # filter text is parsed strictly
    with pytest.raises(InvalidArgumentError):
        s.search("fox", filter=42)


# -- sorting and pages ------------------------------------------------------------------------

@pytest.mark.parametrize("field, reverse, expected", [
    ("year", False, ["3", "1", "8", "9", "2", "5", "4", "6", "7"]),  # ties by score, then index order
    ("year", True, ["4", "5", "2", "1", "8", "9", "3", "6", "7"]),  # missing values stay last
    ("date", False, ["3", "1", "9", "2", "6", "4", "5", "7", "8"]),
    ("date", True, ["4", "6", "2", "9", "1", "3", "5", "7", "8"]),
    ("id", False, ["1", "2", "3", "4", "5", "6", "7", "8", "9"]),
    ("id", True, ["9", "8", "7", "6", "5", "4", "3", "2", "1"]),
])
def test_sort_by(s, field, reverse, expected):
    assert ranked(s.search("*:*", limit=50, sort_by=field, reverse=reverse)) == expected


def test_sort_by_key_puts_documents_without_one_last(tmp_path):
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), body=TEXT(stored=True)))
    with ix.writer() as w:
        w.add({"id": "b", "body": "x"})
        w.add({"body": "x y"})  # no key
        w.commit()
        w.add({"id": "a", "body": "x"})
        w.add({"id": "c", "body": "x"})
    with ix.searcher() as s:
        assert len(s.readers) == 2
        assert [h.id for h in s.search("x", sort_by="id")] == ["a", "b", "c", None]
        assert [h.id for h in s.search("x", sort_by="id", reverse=True)] == ["c", "b", "a", None]
        assert [h.id for h in s.search("x", sort_by="id", limit=2, offset=2)] == ["c", None]


def test_sort_ties_are_broken_by_score(s):
    res = s.search("fox OR dog OR story OR stone", limit=50, sort_by="year")
    scores = {h.id: h.score for h in s.search("fox OR dog OR story OR stone", limit=50)}
    years = {d[0]: d[4] for d in DOCS}
    want = sorted(scores, key=lambda k: (years[k] is None, years[k] or 0, -scores[k], k))
    assert ranked(res) == want
    assert [h.score for h in res] == [scores[k] for k in want]


def test_sort_errors(s):
    with pytest.raises(SchemaError):
        s.search("*:*", sort_by="title")
    with pytest.raises(SchemaError):
        s.search("*:*", sort_by="nope")


@pytest.mark.parametrize("options", [{}, {"sort_by": "year"}, {"sort_by": "date", "reverse": True},
                                     {"sort_by": "id"}, {"sort_by": "year", "filter": {"year": (2005, None)}}])
def test_pages_concatenate_to_the_full_list(s, options):
    for q in ("*:*", "fox OR story OR stone OR farm OR form"):
        everything = ranked(s.search(q, limit=100, **options))
        pages = []
        for offset in range(0, len(everything) + 2, 2):
            pages += ranked(s.search(q, limit=2, offset=offset, **options))
        assert pages == everything
        assert len(set(pages)) == len(pages)
        paged = []
        for page in range(1, 7):
            res = s.search_page(q, page, page_size=2, **options)
            assert res.page == page and res.page_size == 2
            assert res.page_count == math.ceil(res.total / 2)
            assert [h.rank for h in res] == list(range(2 * page - 1, 2 * page - 1 + len(res)))
            paged += ranked(res)
        assert paged == everything


def test_search_page_edges(s):
    res = s.search_page("*:*", 5, page_size=2)
    assert len(res) == 1 and res.page_count == 5
    res = s.search_page("*:*", 9, page_size=2)
    assert res.hits == [] and res.total == 9 and res.page == 9
    assert s.search_page("zzz", 1).page_count == 0
    with pytest.raises(ValueError):
        s.search_page("*:*", 0)
    with pytest.raises(ValueError):
        s.search_page("*:*", 1, page_size=0)
    assert s.search("*:*").page is None
    assert s.search_page("*:*", 1).to_dict()["page_count"] == 1


def test_flat_passages_sorted(psearcher):
    res = psearcher.search("glacier OR snow", group=False, limit=50, sort_by="year", reverse=True)
    years = [2000 + list(PASSAGE_DOCS).index(h.id) for h in res]
    assert years == sorted(years, reverse=True) and len(res) > len(set(ranked(res)))


# -- explain ----------------------------------------------------------------------------------

EXPLAINED = ["story", "story storm fox", "title:story^2 body:storm", '"brown fox"', '"quick fox"~3', "stor*",
             "st?r*", "form~", "hsitory~1", "year:[2010 TO 2020]", "+fox -stone", "(storm AND coast) OR story",
             "*:* fox", "fox^0.5 (dog OR lazy)^3", "tags:history story", "id:8 OR fox", "-fox"]


@pytest.mark.parametrize("q", EXPLAINED)
@pytest.mark.parametrize("options", [{}, {"fields": {"title": 2.0, "body": 0.5, "tags": 1.0}}, {"k1": 0.9, "b": 0.4}])
def test_explain_value_equals_the_hit_score(s, q, options):
    res = s.search(q, limit=50, **options)
    assert res.total
    for hit in res:
        e = s.explain(q, hit.id, **options)
        assert e.value == pytest.approx(hit.score, abs=1e-5), f"{q} {hit.id}\n{e}"


@pytest.mark.parametrize("q", ["glacier", "glacier snow", '"glaciers calve"', "glac*", "title:glacier^2 body:snow",
                               '"glacier ice"~3', "ice OR tags:ice", "glaciers~1", "+glacier -ski",
                               "(glacier AND snow) OR ice", "body:glacier home", "year:[2001 TO 2003] snow"])
@pytest.mark.parametrize("fields", [None, {"title": 2.0, "body": 1.0, "tags": 1.0}, ["body"]])
def test_explain_with_passages(psearcher, q, fields):
    res = psearcher.search(q, limit=50, fields=fields)
    assert res.total
    for hit in res:
        e = psearcher.explain(q, hit.id, fields=fields)
        assert e.value == pytest.approx(hit.score, abs=1e-5), f"{q} {hit.id}\n{e}"


def test_explain_shows_the_arithmetic(s, psearcher):
    text = str(s.explain("story", "1"))
    for part in ("BM25F", "idf", "N, documents", "df, documents", "tf~", "k1", "b", "dl", "avgdl",
                 "title:stori", "body:stori"):
        assert part in text, part
    text = str(s.explain("title:story^2", "1"))
    assert "tf factor" in text and "query boost" in text and "field boost" in text
    text = str(s.explain('"quick fox"~3', "9"))
    assert "phrase frequency with slop 3" in text
    lines = text.splitlines()
    score = s.search('"quick fox"~3', filter={"id": "9"})[0].score
    assert lines[0].startswith(f"{score:.6g} = ")
    assert all(line.startswith("  ") for line in lines[1:])
    text = str(psearcher.explain("glacier", "ice", fields=["body"]))
    assert "best passage" in text and "passage" in text
    e = s.explain("stone", "1")
    assert e.value == 0 and "no match" in e.description
    assert s.explain("the", "1").value == 0
    with pytest.raises(SearchlibError):
        s.explain("fox", "no-such-id")
    assert e.to_dict()["value"] == 0


# -- highlighting -----------------------------------------------------------------------------

def snippet_of(s, q, key, **kw):
    res = s.search(q, limit=50, **kw)
    return next(h.snippet for h in res if h.id == key)


def test_expanded_terms_are_highlighted(s):
    snippet = snippet_of(s, "body:stor*", "1")
    for word in ("storyteller", "story", "storms"):
        assert f"<mark>{word}</mark>" in snippet
    assert "<mark>told</mark>" not in snippet
    assert "<mark>form</mark>" in snippet_of(s, "body:*orm", "5")
    assert "<mark>From</mark>" in snippet_of(s, "title:form~1", "6")
    assert "<mark>History</mark>" in snippet_of(s, "title:hsitory~", "4")
    assert "<mark>stormy</mark>" in snippet_of(s, "body:STORMY~", "2")


def test_phrases_are_highlighted(s):
    assert "<mark>brown fox</mark>" in snippet_of(s, 'body:"brown fox"', "8")
    sloppy = snippet_of(s, 'body:"quick fox"~1', "8")
    assert "<mark>quick</mark> brown <mark>fox</mark>" in sloppy  # a proximity match marks its words, not the gap
    sloppy = snippet_of(s, 'body:"fox quick"~3', "9")
    assert "<mark>fox</mark>" in sloppy and "<mark>quick</mark>" in sloppy


def test_bm25f_words_are_highlighted_in_their_field(s):
    assert "<mark>History</mark>" in snippet_of(s, "history", "4", fields={"title": 1.0})
    assert "<mark>history</mark>" in snippet_of(s, "history", "4", fields={"body": 1.0})


def test_index_search_reads_hits_before_closing(tmp_path):
    from searchlib import ID, TEXT, Index, Schema
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True), body=TEXT(stored=True, passages="paragraph")))
    with ix.writer() as w:
        w.add({"id": "a", "body": "first paragraph about soap\n\nsecond about a storyline"})
    res = ix.search("storyline")
    assert res[0].fields["body"].startswith("first paragraph")
    assert res[0].passages[0].text == "second about a storyline"


# -- the evaluators: norms per BM25 parameters, the term lookup, excluded clauses -------------

@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(stored=True), body=TEXT(stored=True),
                    tags=KEYWORD())
    ix = Index.create(tmp_path_factory.mktemp("review") / "ix", schema)
    words = "apple banana cherry date elder fig grape honey".split()
    with ix.writer() as w:
        for i in range(60):
            w.add({"id": f"d{i}", "title": " ".join(words[i % 3:i % 3 + 2]),
                   "body": " ".join(words[(i * j) % len(words)] for j in range(1 + i % 7)),
                   "tags": words[i % 4]})
    return ix


@pytest.fixture
def live_norms(monkeypatch):
    """Weak references to every norm array the evaluators compute: `count()` says how many are
    still alive (held by a cache)."""
    made: list[weakref.ref] = []
    real = leaves_module.length_norm

    def recording(*args, **kwargs):
        out = real(*args, **kwargs)
        made.append(weakref.ref(out))
        return out

    monkeypatch.setattr(leaves_module, "length_norm", recording)

    class Counter:
        @staticmethod
        def made() -> int:
            return len(made)

        @staticmethod
        def alive() -> int:
            gc.collect()
            return sum(r() is not None for r in made)

    return Counter


def test_norms_stay_bounded_over_many_bm25_parameters(ix, live_norms):
    with ix.searcher() as s:
        assert len(s.readers) == 1
        for i in range(300):
            s.search("apple OR banana", b=i / 300, k1=1.0 + i / 1000, highlight=False)
        # one array per field the query scores, for at most the 64 cached evaluators of the segment
        assert live_norms.made() >= 300
        assert live_norms.alive() <= 64 * 2


def test_norms_are_computed_only_for_fields_a_query_scores(ix, live_norms):
    with ix.searcher() as s:
        s.search("title:apple", highlight=False)
        assert live_norms.made() == 1
        s.search("title:banana tags:apple", highlight=False)  # KEYWORD has no lengths; title is cached
        assert live_norms.made() == 1
        s.search("apple", highlight=False)  # default fields: title and body
        assert live_norms.made() == 2


def test_delete_by_query_computes_no_norms(ix, tmp_path, live_norms):
    schema = Schema(id=ID(unique=True, stored=True), body=TEXT())
    other = Index.create(tmp_path / "del", schema)
    with other.writer() as w:
        for i in range(10):
            w.add({"id": str(i), "body": "apple pie" if i % 2 else "banana split"})
    with other.writer() as w:
        assert w.delete_by_query("apple OR body:pie") == 5
    assert live_norms.made() == 0


def test_explain_uses_each_searchs_own_b_on_shared_evaluators(ix):
    with ix.searcher() as s:
        for b in (0.0, 0.4, 0.9, 0.4):
            for k1 in (0.5, 1.5):
                hit = s.search("apple cherry", b=b, k1=k1, limit=1, highlight=False)[0]
                e = s.explain("apple cherry", hit.id, b=b, k1=k1)
                assert e.value == hit.score
                assert f"k1={k1:g} b={b:g}" in e.description


def test_excluded_clauses_are_matched_without_scores(ix, monkeypatch):
    from searchlib.query.compile import BoolNode, Compiler, TermRangeLeaf
    from searchlib.scoring import BM25
    from searchlib.search import Weight
    from searchlib.search.dense import DenseScorer

    evaluated = []
    real = DenseScorer.evaluate
    monkeypatch.setattr(DenseScorer, "evaluate", lambda self, w: evaluated.append(w) or real(self, w))
    with ix.searcher() as s:
        node = Compiler(s.schema, s.settings.fields_for(s.schema)).compile(s.parse("apple -id:[d1 TO d3]"))
        assert isinstance(node, BoolNode) and isinstance(node.must_not[0], TermRangeLeaf)
        weight = Weight(node, s.stats, BM25(), s.scorers)
        m = weight.scorers.get(0, BM25(), dense=True).evaluate(weight.root)
        assert not any(isinstance(getattr(w, "leaf", None), TermRangeLeaf) for w in evaluated)  # no score array for the range
        excluded = {f"d{i}" for i in range(60) if "d1" <= f"d{i}" <= "d3"}  # compared as text
        hits = {h.id for h in s.search("apple", limit=100, highlight=False)}
        found = {h.id for h in s.search("apple -id:[d1 TO d3]", limit=100, highlight=False)}
        assert found == hits - excluded and int(m.docs.sum()) == len(found)


def test_term_postings(ix):
    from searchlib.search.postings import posting_slots, term_postings

    with ix.searcher() as s:
        reader = s.readers[0]
        assert term_postings(reader, "title", "zzz") is None
        assert term_postings(reader, "no_such_field", "apple") is None
        units, tf = term_postings(reader, "title", "apple")
        fr = reader.fields["title"]
        assert list(units) == list(fr.postings(fr.term_id("apple"))[0]) and len(units) == len(tf) > 0
        tids = np.array([fr.term_id("apple"), fr.term_id("cherry")])
        idx, counts = posting_slots(fr, tids)
        assert list(counts) == [fr.doc_freq("apple"), fr.doc_freq("cherry")]
        assert list(np.asarray(fr.unit)[idx]) == list(units) + list(term_postings(reader, "title", "cherry")[0])
