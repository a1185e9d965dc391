"""Facets, collapse, autocomplete, "did you mean" and more-like-this against brute force.

Facet counts equal counts over the stored fields (`documents()`) of the matching documents, on
generated indexes of several segments with deletions, with filters and drill-sideways
post-filters; collapse equals the best hit per group picked from the uncollapsed hits; completion
equals a scan of every dictionary term with the prefix, ranked by document frequency; suggestions
restore the original words of a corpus with injected typos in most cases; more-like-this finds
planted near-duplicates first."""
from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from searchlib import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Index, Schema
from searchlib.errors import InvalidArgumentError, SchemaError

WORDS = ["apple", "banana", "cherry", "date", "elder", "fig", "grape", "honey", "kiwi", "lemon", "mango",
         "nut", "olive", "pear", "quince", "the", "of"]
TAGS = ["red", "green", "blue", "Red", "amber"]
THREADS = ["t1", "t2", "t3", "t4", "t5", "t6"]
ALL = 10 ** 6


def _text(rng: random.Random, n: int) -> str:
    return " ".join(WORDS[min(int(rng.expovariate(0.25)), len(WORDS) - 1)] for _ in range(n))


def _build(path, seed: int, n: int, commits: int, delete_every: int, passages=None):
    rng = random.Random(seed)
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    body=TEXT(analyzer="english", stored=True, passages=passages, index_phrases=True),
                    tags=KEYWORD(stored=True, lowercase=True), thread=KEYWORD(stored=True),
                    year=NUMERIC(), when=DATETIME())
    ix = Index.create(path, schema)
    with ix.writer() as w:
        for i in range(n):
            doc = {"id": f"d{i}", "title": _text(rng, rng.randint(1, 4)),
                   "body": "\n\n".join(_text(rng, rng.randint(0, 8)) for _ in range(rng.randint(1, 3))),
                   "tags": " ".join(rng.sample(TAGS, rng.randint(0, 3)))}
            if rng.random() < 0.8:
                doc["thread"] = rng.choice(THREADS)
            if i % 4:
                doc["year"] = rng.choice([1999, 2000, 2004.5, 2010, 2015])
            if i % 3:
                doc["when"] = dt.datetime(2020 + rng.randint(0, 2), rng.randint(1, 12), rng.randint(1, 28),
                                          rng.randint(0, 23), tzinfo=dt.timezone.utc)
            w.add(doc)
            if commits and i % max(n // (commits + 1), 1) == 0 and i:
                w.commit()
        for i in range(0, n, delete_every):
            w.delete(f"d{i}")
    return ix.searcher()


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    s = _build(tmp_path_factory.mktemp("disc") / "ix", 7, 240, 3, 7, passages="paragraph")
    assert len(s.readers) >= 3 and any(r.live is not None for r in s.readers)
    yield s
    s.close()


def _stored(s) -> dict:
    return {d["id"]: d for d in s.documents()}


def _brute_facets(s, docs: list[dict], limit: int = ALL) -> dict:
    tags = Counter(t for d in docs for t in set(s.schema["tags"].split(d.get("tags", ""))))
    threads = Counter(d["thread"] for d in docs if "thread" in d)
    order = lambda c: sorted(c.items(), key=lambda vc: (-vc[1], vc[0]))[:limit]  # noqa: E731
    return {"tags": order(tags), "thread": order(threads)}


def _matching(s, q, **options) -> list[dict]:
    stored = _stored(s)
    return [stored[h.id] for h in s.search(q, ALL, highlight=False, **options)]


QUERIES = ["apple", "banana OR fig", "honey AND NOT kiwi", '"apple banana"', "*:*", "quince", "lemo*", "zzz"]
FILTERS = [None, {"tags": "red"}, {"year": (2000, 2010)}, "thread:t2 OR thread:t3", {"tags": ["green", "blue"]}]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.sampled_from(QUERIES), filter=st.sampled_from(FILTERS), limit=st.sampled_from([1, 3, 100]))
def test_term_facets_equal_brute_force(searcher, q, filter, limit):
    res = searcher.search(q, 5, facets=["tags", "thread"], facet_limit=limit, filter=filter)
    docs = _matching(searcher, q, filter=filter)
    assert res.total == len(docs)
    assert res.facets == _brute_facets(searcher, docs, limit)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.sampled_from(QUERIES), filter=st.sampled_from(FILTERS))
def test_column_facets_equal_brute_force(searcher, q, filter):
    ranges = [(None, 2000), (2000, 2010), (2010, None), (1999, 1999.5)]
    dates = [(None, "2021-01-01"), ("2021-01-01", dt.datetime(2022, 6, 1, tzinfo=dt.timezone.utc))]
    res = searcher.search(q, 0, facets={"year": ranges, "when": dates, "tags": None}, filter=filter)
    res_hist = searcher.search(q, 0, facets={"when": "month", "year": 5}, filter=filter)
    res_week = searcher.search(q, 0, facets={"when": "week"}, filter=filter)
    res_values = searcher.search(q, 0, facets=["year"], facet_limit=100, filter=filter)
    docs = _matching(searcher, q, filter=filter)
    years = [float(d["year"]) for d in docs if d.get("year") is not None]
    whens = [dt.datetime.fromisoformat(str(d["when"])) for d in docs if d.get("when") is not None]
    whens = [w if w.tzinfo else w.replace(tzinfo=dt.timezone.utc) for w in whens]

    def inside(v, lo, hi):
        return (lo is None or v >= lo) and (hi is None or v < hi)

    assert res.facets["year"] == [((lo, hi), sum(inside(y, lo, hi) for y in years)) for lo, hi in ranges]
    bounds = [(None, dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)),
              (dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2022, 6, 1, tzinfo=dt.timezone.utc))]
    assert [c for _, c in res.facets["when"]] == [sum(inside(w, lo, hi) for w in whens) for lo, hi in bounds]
    months = Counter(w.strftime("%Y-%m") for w in whens)
    assert res_hist.facets["when"] == sorted(months.items())
    buckets = Counter(int(y // 5 * 5) for y in years)
    assert res_hist.facets["year"] == sorted(buckets.items())
    weeks = Counter((w.date() - dt.timedelta(days=w.weekday())).isoformat() for w in whens)
    assert res_week.facets["when"] == sorted(weeks.items())
    for unit, label in (("hour", lambda w: w.strftime("%Y-%m-%dT%H")), ("year", lambda w: w.strftime("%Y")),
                        ("quarter", lambda w: f"{w.year}-Q{(w.month - 1) // 3 + 1}"),
                        ("day", lambda w: w.strftime("%Y-%m-%d"))):
        got = searcher.search(q, 0, facets={"when": unit}, filter=filter).facets["when"]
        assert got == sorted(Counter(map(label, whens)).items())
    values = Counter(int(y) if y.is_integer() else y for y in years)
    assert res_values.facets["year"] == sorted(values.items(), key=lambda vc: (-vc[1], vc[0]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.sampled_from(QUERIES), tags=st.sampled_from(["red", ["green", "amber"]]),
       thread=st.sampled_from([None, "t1", ["t2", "t5"]]))
def test_drill_sideways(searcher, q, tags, thread):
    """Hits obey every post-filter clause; a field's facet counts ignore only its own clause."""
    post = {"tags": tags} if thread is None else {"tags": tags, "thread": thread}
    res = searcher.search(q, ALL, facets=["tags", "thread"], facet_limit=100, post_filter=post, highlight=False)
    assert sorted(h.id for h in res) == sorted(h.id for h in searcher.search(q, ALL, filter=post, highlight=False))
    assert res.total == len(res.hits)
    only_thread = {"thread": thread} if thread is not None else None
    expect_tags = _brute_facets(searcher, _matching(searcher, q, filter=only_thread), 100)["tags"]
    expect_thread = _brute_facets(searcher, _matching(searcher, q, filter={"tags": tags}), 100)["thread"]
    assert res.facets == {"tags": expect_tags, "thread": expect_thread}


def test_post_filter_query_narrows_hits_only(searcher):
    res = searcher.search("apple", ALL, facets=["thread"], facet_limit=100, post_filter="tags:red", highlight=False)
    assert {h.id for h in res} == {h.id for h in searcher.search("apple", ALL, filter="tags:red", highlight=False)}
    assert res.facets["thread"] == _brute_facets(searcher, _matching(searcher, "apple"), 100)["thread"]


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10 ** 6), n=st.integers(1, 80), commits=st.integers(0, 4),
       delete_every=st.integers(1, 9), passages=st.sampled_from([None, "paragraph"]))
def test_facets_on_generated_indexes(tmp_path_factory, seed, n, commits, delete_every, passages):
    s = _build(tmp_path_factory.mktemp("gen") / "ix", seed, n, commits, delete_every, passages)
    with s:
        for q in ("apple", "*:*", "banana fig"):
            res = s.search(q, 2, facets=["tags", "thread"], facet_limit=100)
            assert res.facets == _brute_facets(s, _matching(s, q), 100)


def test_facets_of_fields_some_segments_lack(tmp_path):
    schema = Schema(id=ID(unique=True), body=TEXT(), tags=KEYWORD(), when=DATETIME(), year=NUMERIC())
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        w.add({"id": "a", "body": "x"})
    with ix.writer() as w:
        w.add({"id": "b", "body": "x", "tags": "t", "when": "2020-05-01", "year": 3})
    with ix.searcher() as s:
        assert len(s.readers) == 2
        res = s.search("x", facets={"tags": None, "when": "month", "year": [(None, 5)]})
        assert res.facets == {"tags": [("t", 1)], "when": [("2020-05", 1)], "year": [((None, 5), 1)]}
        assert s.search("x", collapse="tags").groups == 2


def _check_doc_terms(s, written: bool) -> None:
    """Each segment's KEYWORD/ID terms per document: written (or, `written` false, absent) and
    equal to the stored values; without pointers exactly where every document has one value."""
    stored = {}
    for seg, r in enumerate(s.readers):
        for field in ("tags", "thread", "id"):
            fr = r.fields.get(field)
            if fr is None:
                continue
            assert (fr.doc_term is not None) == written
            terms, counts = s._doc_terms.get(seg, field), []
            for doc in range(r.doc_count):
                values = stored.setdefault((seg, doc), r.stored.get(doc)).get(field, "")
                expected = sorted(set(s.schema[field].split(values) if field == "tags" else [values] * bool(values)))
                at = slice(doc, doc + 1) if terms.starts is None else slice(terms.starts[doc], terms.starts[doc + 1])
                assert fr.dictionary.terms_of(terms.terms[at].tolist()) == expected
                counts.append(len(expected))
            assert fr.doc_ptr is None if not written else (fr.doc_ptr is None) == (set(counts) == {1})


def _check_discovery(s) -> None:
    for q, filter in (("apple", None), ("*:*", {"tags": "red"}), ("banana fig", "thread:t2 OR thread:t3")):
        res = s.search(q, 2, facets=["tags", "thread", "id"], facet_limit=100, filter=filter)
        docs = _matching(s, q, filter=filter)
        assert res.facets == {**_brute_facets(s, docs, 100), "id": sorted((d["id"], 1) for d in docs)[:100]}
        post = s.search(q, ALL, facets=["tags", "thread"], facet_limit=100, filter=filter,
                        post_filter={"tags": "green"}, highlight=False)
        assert post.facets["tags"] == res.facets["tags"]
        assert post.facets["thread"] == _brute_facets(s, _matching(s, q, filter=filter, post_filter={"tags": "green"}),
                                                      100)["thread"]
        full, stored, best = s.search(q, ALL, filter=filter, highlight=False), _stored(s), {}
        for h in full:
            best.setdefault(stored[h.id].get("thread") or h.id, h.id)
        collapsed = s.search(q, ALL, filter=filter, collapse="thread", highlight=False)
        assert [h.id for h in collapsed] == list(best.values())


def test_written_doc_terms_after_flush_merge_and_reopen(tmp_path):
    """KEYWORD and ID fields keep their terms per document (format 6): after flushes with
    deletions, after a merge, after reopening, they equal the stored values, and facets, drill-down
    and collapse read from them equal brute force."""
    s = _build(tmp_path / "ix", 11, 150, 3, 5)
    with s:
        assert len(s.readers) >= 3 and any(r.live is not None for r in s.readers)
        _check_doc_terms(s, written=True)
        _check_discovery(s)
    Index.open(tmp_path / "ix").optimize()
    with Index.open(tmp_path / "ix").searcher() as s:
        assert len(s.readers) == 1 and s.readers[0].live is None
        _check_doc_terms(s, written=True)
        _check_discovery(s)


def test_facets_of_documents_with_many_values(tmp_path):
    """More terms per document than DocTerms counts rank by rank: the values are gathered."""
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), tags=KEYWORD(stored=True)))
    rng = random.Random(5)
    docs = [{"id": f"d{i}", "tags": " ".join(rng.sample([f"t{j}" for j in range(30)], rng.choice([0, 1, 3, 12])))}
            for i in range(60)]
    with ix.writer() as w:
        for doc in docs:
            w.add(doc)
    with ix.searcher() as s:
        assert s._doc_terms.get(0, "tags").most == 12
        for q in ("*:*", "id:d1 OR id:d2 OR id:d7 OR id:d30"):
            matching = _matching(s, q)
            expected = Counter(t for d in matching for t in d["tags"].split())
            assert s.search(q, facets=["tags"], facet_limit=100).facets["tags"] == \
                sorted(expected.items(), key=lambda vc: (-vc[1], vc[0]))


def _format(path) -> str:
    """The format name the newest manifest of the index at `path` was written with."""
    from searchlib.storage.manifest import generations, manifest_name
    outer = json.loads((path / manifest_name(generations(path)[-1])).read_bytes())
    return json.loads(outer["manifest"])["format"]


def test_segments_of_format_5_derive_doc_terms_from_postings(tmp_path, monkeypatch):
    """An index written before format 6 has no terms per document: facets and collapse derive them
    from the postings; a merge with a new segment writes them."""
    from searchlib.storage import manifest as manifest_module
    from searchlib.storage.components import Component
    from searchlib.storage.segment import FieldArrays

    real = FieldArrays.arrays
    monkeypatch.setattr(FieldArrays, "arrays", lambda self, n: {c: a for c, a in real(self, n).items()
                                                               if c not in (Component.DOCPTR, Component.DOCTERM)})
    monkeypatch.setattr(manifest_module, "FORMAT", "searchlib-5")
    _build(tmp_path / "ix", 3, 120, 2, 6).close()
    monkeypatch.undo()
    assert _format(tmp_path / "ix") == "searchlib-5"
    with Index.open(tmp_path / "ix").searcher() as s:
        _check_doc_terms(s, written=False)
        _check_discovery(s)
    ix = Index.open(tmp_path / "ix")
    with ix.writer() as w:
        w.add({"id": "new", "title": "apple", "body": "apple fig", "tags": "red blue", "thread": "t9"})
    with ix.searcher() as s:
        assert [r.fields["tags"].doc_term is not None for r in s.readers] == [False] * (len(s.readers) - 1) + [True]
        _check_discovery(s)
    ix.optimize()
    assert _format(tmp_path / "ix") == manifest_module.FORMAT
    with ix.searcher() as s:
        _check_doc_terms(s, written=True)
        _check_discovery(s)


def test_facet_errors(searcher):
    with pytest.raises(SchemaError, match="cannot facet on 'title'"):
        searcher.search("apple", facets=["title"])
    with pytest.raises(InvalidArgumentError, match="interval"):
        searcher.search("apple", facets={"when": "fortnight"})
    with pytest.raises(InvalidArgumentError, match="takes no ranges"):
        searcher.search("apple", facets={"tags": [(1, 2)]})
    with pytest.raises(InvalidArgumentError, match="range"):
        searcher.search("apple", facets={"year": [(1, 2, 3)]})
    with pytest.raises(InvalidArgumentError, match="facet_limit"):
        searcher.search("apple", facets=["tags"], facet_limit=0)
    assert searcher.search("zzzz", facets={"tags": None, "year": [(None, 1)]}).facets == \
        {"tags": [], "year": [((None, 1), 0)]}


# -- collapse -------------------------------------------------------------------------------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.sampled_from(QUERIES[:-1]), filter=st.sampled_from(FILTERS), limit=st.sampled_from([1, 4, 50]),
       offset=st.sampled_from([0, 2]))
def test_collapse_equals_best_per_group(searcher, q, filter, limit, offset):
    full = searcher.search(q, ALL, filter=filter, highlight=False)
    stored = _stored(searcher)
    best: dict = {}
    sizes: Counter = Counter()
    for h in full:  # best first, ties in index order: the first of a group is its best
        group = stored[h.id].get("thread") or ("none", h.id)
        sizes[group] += 1
        best.setdefault(group, h)
    expected = sorted(best.values(), key=lambda h: h.rank)
    res = searcher.search(q, limit, offset=offset, filter=filter, collapse="thread", highlight=False)
    assert res.total == full.total and res.groups == len(best)
    assert [(h.id, h.score) for h in res] == [(h.id, h.score) for h in expected[offset:offset + limit]]
    for h in res:
        group = stored[h.id].get("thread") or ("none", h.id)
        assert h.group_size == sizes[group] and h.group_value == stored[h.id].get("thread")


def _first_per_group(s, full, field: str) -> tuple[list, Counter]:
    """The first hit of each group of `field` in the ranked uncollapsed `full`, and each group's
    number of hits (a document without a value: a group of its own)."""
    stored, best, sizes = _stored(s), {}, Counter()
    for h in full:
        group = stored[h.id].get(field) or ("none", h.id)
        sizes[group] += 1
        best.setdefault(group, h)
    return sorted(best.values(), key=lambda h: h.rank), sizes


def _row(h) -> tuple:
    return (h.id, h.score, int(h._row[3]), int(h._row[4]))  # the passage's field and unit (-1: the document)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.sampled_from(QUERIES[:-1]), filter=st.sampled_from(FILTERS), sort_by=st.sampled_from(["year", "when",
                                                                                                  "id", None]),
       reverse=st.booleans(), group=st.booleans(), field=st.sampled_from(["thread", "tags"]),
       limit=st.sampled_from([1, 4, 50]), offset=st.sampled_from([0, 2]))
def test_collapse_sorted_or_by_passage_equals_first_per_group(searcher, q, filter, sort_by, reverse, group, field,
                                                             limit, offset):
    """With sort_by, a group's hit is its first in the field's order and groups go in that order
    (Elasticsearch's collapse with sort); with group=False hits are passages, a group's hit is its
    best passage and its size counts its matching passages."""
    options = dict(filter=filter, sort_by=sort_by, reverse=reverse, group=group, highlight=False)
    full = searcher.search(q, ALL, **options)
    expected, sizes = _first_per_group(searcher, full, field)
    if field == "tags":  # several values: grouped by the first in code-point order
        stored = _stored(searcher)
        first = lambda h: min(searcher.schema["tags"].split(stored[h.id].get("tags", "")), default=None)  # noqa: E731
        best, sizes = {}, Counter()
        for h in full:
            sizes[first(h) or ("none", h.id)] += 1
            best.setdefault(first(h) or ("none", h.id), h)
        expected = sorted(best.values(), key=lambda h: h.rank)
    res = searcher.search(q, limit, offset=offset, collapse=field, **options)
    assert res.total == full.total and res.groups == len(expected)
    assert [_row(h) for h in res] == [_row(h) for h in expected[offset:offset + limit]]
    for h in res:
        assert h.group_size == sizes[h.group_value if h.group_value is not None else ("none", h.id)]
    if sort_by in ("year", "when"):
        stored = _stored(searcher)
        keys = [stored[h.id].get(sort_by) for h in searcher.search(q, ALL, collapse=field, **options)]
        present = [float(k) if sort_by == "year" else str(k) for k in keys if k is not None]
        assert present == sorted(present, reverse=reverse)
        assert keys[len(present):] == [None] * (len(keys) - len(present))


def test_collapse_errors(searcher):
    with pytest.raises(SchemaError, match="collapse"):
        searcher.search("apple", collapse="year")
    with pytest.raises(SchemaError, match="cannot sort by 'title'"):
        searcher.search("apple", collapse="thread", sort_by="title")


# -- autocomplete ---------------------------------------------------------------------------------

def _brute_complete(s, field: str, prefix: str, limit: int) -> list[tuple[str, int]]:
    df: Counter = Counter()
    for r in s.readers:
        fr = r.fields[field]
        for tid, term in enumerate(fr.dictionary.terms()):
            if term.startswith(prefix):
                df[term] += int(fr.ptr[tid + 1] - fr.ptr[tid])
    return sorted(df.items(), key=lambda tc: (-tc[1], tc[0]))[:limit]


@pytest.mark.parametrize("field", ["body", "tags", "id", "thread"])
@pytest.mark.parametrize("prefix", ["", "a", "b", "d", "h", "ki", "zz", "t", "r"])
def test_completion_equals_prefix_scan(searcher, field, prefix):
    from searchlib.search.complete import prefix_terms
    for limit in (1, 3, 10):
        assert prefix_terms(searcher.readers, field, prefix, limit) == _brute_complete(searcher, field, prefix, limit)


@pytest.mark.parametrize("full_merge", [0, 1 << 15])
def test_completion_many_segments_is_exact(tmp_path, monkeypatch, full_merge):
    """Terms frequent overall but never among any one segment's first offers rank right, by the
    threshold merge alone (full_merge=0) and with its fallback of reading the ranges whole."""
    import searchlib.search.complete as complete
    monkeypatch.setattr(complete, "FULL_MERGE", full_merge)
    monkeypatch.setattr(complete, "_START", 2)
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True), body=TEXT(analyzer="standard")))
    rng = random.Random(3)
    words = [f"w{i:03d}" for i in range(300)]
    for seg in range(6):
        with ix.writer() as w:
            for i in range(60):
                w.add({"id": f"{seg}-{i}", "body": " ".join(rng.sample(words, 30))})
    with ix.searcher() as s:
        assert len(s.readers) > 1
        from searchlib.search.complete import prefix_terms
        for limit in (1, 5, 17, 40):
            assert prefix_terms(s.readers, "body", "w", limit) == _brute_complete(s, "body", "w", limit)


def test_complete_shows_words_and_phrases(tmp_path):
    schema = Schema(id=ID(unique=True), title=TEXT(analyzer="english", stored=True, index_phrases=True))
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        for i, t in enumerate(["late miscarriage storyline", "a miscarriage", "miscellaneous stories",
                               "late misses", "storylines of the late show", "late miscarriage"]):
            w.add({"id": str(i), "title": t})
    with ix.searcher() as s:
        assert [c.text for c in s.complete("misc", field="title")] == ["miscarriage", "miscellaneous"]
        assert s.complete("misc", field="title")[0].doc_freq == 3
        assert [c.text for c in s.complete("Late mis", field="title")][:2] == ["Late miscarriage", "Late misses"]
        assert [c.text for c in s.complete("late ", field="title")] == ["late miscarriage", "late misses",
                                                                         "late show"]
        assert s.complete("zzz") == []
        with pytest.raises(SchemaError):
            s.complete("x", field="nope")


# -- did you mean ---------------------------------------------------------------------------------

def test_suggest_keeps_query_syntax(tmp_path):
    schema = Schema(id=ID(unique=True, stored=True), title=TEXT(analyzer="english", stored=True),
                    body=TEXT(analyzer="english", stored=True), tags=KEYWORD())
    ix = Index.create(tmp_path / "ix", schema)
    with ix.writer() as w:
        for i in range(30):
            w.add({"id": str(i), "title": "coronation street storyline", "tags": "soap",
                   "body": "the late miscarriage storyline was filmed in the studio"})
        w.add({"id": "x", "title": "storylines", "body": "storylime"})
    with ix.searcher() as s:
        assert s.suggest("storylne miscariage")[0] == "storyline miscarriage"
        assert s.suggest('title:storylne AND "late miscariage" -flimed^2')[0] == \
            'title:storyline AND "late miscarriage" -filmed^2'
        assert s.suggest("Storylne")[0] == "Storyline"
        assert s.suggest("storyline miscarriage") == []  # every word is known
        assert s.suggest("storylime")[0] == "storyline"  # known, but a far more frequent word is one edit away
        assert s.suggest("xqzzy") == []
        res = s.search("miscariage", suggest=True)
        assert res.total == 0 and res.suggestion == "miscarriage"
        assert s.search("miscarriage", suggest=True).suggestion is None


def test_suggest_corrects_injected_typos():
    """Typos (a deleted, doubled, swapped or replaced letter past the first) in words of a real
    corpus's vocabulary are corrected back to the word in most cases; the rate is printed."""
    rng = random.Random(11)
    vocab = ["storyline", "miscarriage", "television", "documentary", "hospital", "festival", "football",
             "kitchen", "season", "audience", "filming", "pregnancy", "midwife", "charity", "wedding", "ratings",
             "premiere", "director", "character", "episode", "actress", "studio", "weekend", "recipe", "harbour"]
    texts = [" ".join(rng.choices(vocab, k=12)) for _ in range(200)]
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        ix = Index.create(d + "/ix", Schema(id=ID(unique=True), body=TEXT(analyzer="english", stored=True)))
        with ix.writer() as w:
            for i, t in enumerate(texts):
                w.add({"id": str(i), "body": t})
        ok = tried = 0
        with ix.searcher() as s:
            for word in vocab:
                for kind in ("delete", "double", "swap", "replace"):
                    i = rng.randint(1, len(word) - 2)
                    typo = {"delete": word[:i] + word[i + 1:], "double": word[:i] + word[i] + word[i:],
                            "swap": word[:i] + word[i + 1] + word[i] + word[i + 2:],
                            "replace": word[:i] + rng.choice("aeioustnr".replace(word[i], "")) + word[i + 1:]}[kind]
                    if typo == word:
                        continue
                    tried += 1
                    found = s.suggest(typo)
                    ok += bool(found) and found[0] == word
    rate = ok / tried
    print(f"typo correction rate {ok}/{tried} = {rate:.0%}")
    assert rate >= 0.9


# -- more like this -------------------------------------------------------------------------------

def test_more_like_this_finds_planted_near_duplicates(tmp_path):
    rng = random.Random(5)
    vocab = [f"word{i}" for i in range(2000)]
    schema = Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="standard", stored=True))
    ix = Index.create(tmp_path / "ix", schema)
    originals = {}
    with ix.writer() as w:
        for i in range(300):
            words = rng.choices(vocab[:400], k=20) + rng.choices(vocab, k=60)
            originals[f"d{i}"] = words
            w.add({"id": f"d{i}", "body": " ".join(words)})
        w.commit()
        for i in range(0, 300, 30):  # near-duplicates: the same words, a few changed and shuffled
            words = list(originals[f"d{i}"])
            for j in rng.sample(range(len(words)), 8):
                words[j] = rng.choice(vocab)
            rng.shuffle(words)
            w.add({"id": f"d{i}-dup", "body": " ".join(words)})
        w.delete("d90-dup")
    with ix.searcher() as s:
        for i in range(0, 300, 30):
            res = s.more_like_this(f"d{i}", min_term_freq=1, min_doc_freq=1)
            ids = [h.id for h in res]
            assert f"d{i}" not in ids and len(ids) == 10
            if i != 90:
                assert ids[0] == f"d{i}-dup"
            hit = s.search(f"id:d{i}")[0]
            assert [h.id for h in hit.more_like_this(min_term_freq=1, min_doc_freq=1)] == ids
        terms = s.key_terms("d0", min_term_freq=1, min_doc_freq=1, max_query_terms=5)
        assert len(terms) == 5 and terms == sorted(terms, key=lambda k: (-k.weight, k.field, k.term))
        body = originals["d0"]
        n = s.stats.field_units("body")
        for k in terms:
            df = s.stats.doc_freq("body", k.term)
            assert k.weight == pytest.approx(body.count(k.term) * (1 + np.log(n / (df + 1))))
        assert s.more_like_this("d0").total >= 0  # Lucene's defaults (min_term_freq=2, min_doc_freq=5)
        with pytest.raises(InvalidArgumentError, match="unknown more-like-this options"):
            s.key_terms("d0", min_tf=1)
        with pytest.raises(Exception, match="no document"):
            s.more_like_this("nope")
