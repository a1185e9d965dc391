"""The phrase index of a TEXT field (`index_phrases=True`, storage/pairs.py): postings of adjacent
word pairs written per segment, merged, verified, and used by exact phrases.

An index with pairs must answer every exact phrase exactly as the same documents indexed without
them (same hits, same order, the same float32 scores), across segments, deletions, merges, passage
splitting and group=False; the stored pairs must be exactly the adjacent words of the documents
(computed here from the stored text, independently of pairs.py); damaged pair files are reported
naming the file; the YAML key `index_phrases` is validated like the other flags.
"""
from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from conftest import assert_searcher_refuses, edit_manifest, flip_byte, rewrite, segment_file, truncate
from searchlib import ID, TEXT, Index, Schema
from searchlib.analysis import get_analyzer
from searchlib.config import dump_config, load_config
from searchlib.errors import ConfigError, SchemaError
from searchlib.query.compile import Compiler
from searchlib.scoring import BM25
from searchlib.search import Weight, phrases as phrases_module
from searchlib.storage import pairs as pairs_module
from searchlib.storage.check import check_index
from searchlib.storage.components import SEGMENTS_DIR
from searchlib.storage.manifest import read_manifest
from searchlib.storage.pairs import PairArrays, from_tokens, merge, pair_key, postings

ENGLISH = get_analyzer("english")
CONTENT = ["rate", "growth", "new", "york", "market", "price", "high", "low"]
STOP = ["of", "the", "and", "in"]  # dropped by the english analyzer, their positions kept
WINDOW = {"mode": "window", "size": 6, "overlap": 2}
TEXT_FIELDS = ("body", "sent", "win")


# -- helpers ------------------------------------------------------------------------------------

def schema(index_phrases: bool) -> Schema:
    """The same text in three fields: whole documents, sentence passages and token windows."""
    return Schema(id=ID(unique=True, stored=True),
                  body=TEXT(analyzer="english", stored=True, index_phrases=index_phrases),
                  sent=TEXT(analyzer="english", stored=True, passages={"mode": "sentences", "size": 1},
                            index_phrases=index_phrases),
                  win=TEXT(analyzer="english", stored=True, passages=WINDOW, index_phrases=index_phrases),
                  plain=TEXT(analyzer="english", stored=True))  # never has pairs


def word(rng: random.Random) -> str:
    if rng.random() < 0.22:
        return rng.choice(STOP)
    return CONTENT[min(int(rng.expovariate(0.35)), len(CONTENT) - 1)]  # skewed: early words common


def make_text(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(1, 4)):
        words = [word(rng) for _ in range(rng.randint(2, 7))]
        if rng.random() < 0.25:  # a repeated word: "new new", "york york york"
            at = rng.randrange(len(words))
            words[at:at] = [words[at]] * rng.randint(1, 2)
        sentences.append(" ".join(words))
    return ". ".join(sentences) + "."


def make_docs(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        text = make_text(rng)
        docs.append({"id": f"d{i}", "body": text, "sent": text, "win": text, "plain": text})
    return docs


def body_only(index_phrases: bool) -> Schema:
    """No split field: segments are evaluated sparsely (search/sparse.py) by default."""
    return Schema(id=ID(unique=True, stored=True),
                  body=TEXT(analyzer="english", stored=True, index_phrases=index_phrases))


def build(path: Path, docs: list[dict], index_phrases: bool, deleted: list[str] = (),
          batches: int = 3, make_schema=schema) -> Index:
    """Several commits (one segment each), then deletions by unique id."""
    sch = make_schema(index_phrases)
    ix = Index.create(path, sch)
    docs = [{k: v for k, v in d.items() if k in sch} for d in docs]
    size = -(-len(docs) // batches)
    with ix.writer(merge_factor=100) as w:
        for start in range(0, len(docs), size):
            for doc in docs[start:start + size]:
                w.add(doc)
            w.commit()
        for key in deleted:
            assert w.delete(key) == 1
    return ix


def make_phrases(rng: random.Random, docs: list[dict], n: int) -> list[str]:
    """Exact phrases of 2-5 words: half random (mostly not in any document), half cut from a
    document's text (across sentence ends too), some of them repeats like "new new"."""
    out = []
    while len(out) < n:
        kind = rng.random()
        if kind < 0.4:
            words = [word(rng) for _ in range(rng.randint(2, 5))]
        elif kind < 0.5:
            w = rng.choice(CONTENT[:4])
            words = [w] * rng.randint(2, 3)
        else:
            text = rng.choice(docs)["body"].replace(".", "").split()
            if len(text) < 2:
                continue
            k = rng.randint(2, min(5, len(text)))
            start = rng.randrange(len(text) - k + 1)
            words = text[start:start + k]
        if not any(w in CONTENT for w in words):
            continue  # only stop words: no searchable word at all
        out.append(" ".join(words))
    return out


def hits(ix_or_searcher, query: str, **options) -> tuple[int, list[tuple[str, np.float32]]]:
    res = ix_or_searcher.search(query, limit=1000, highlight=False, **options)
    return res.total, [(h.id, np.float32(h.score)) for h in res]


def assert_same(a, b, query: str) -> None:
    """Same total, ids in the same order, and scores equal as float32 (not rounded)."""
    assert a[0] == b[0], query
    assert [i for i, _ in a[1]] == [i for i, _ in b[1]], query
    for (i, x), (_, y) in zip(a[1], b[1]):
        assert x == y, (query, i, float(x), float(y))


class PairedCalls:
    """Counts calls of phrases.paired_phrase_units and the phrases they answered (returned not None)."""

    def __init__(self, monkeypatch):
        self.calls = self.answered = 0
        original = phrases_module.paired_phrase_units

        def counting(fr, leaf, tids, few):
            self.calls += 1
            result = original(fr, leaf, tids, few)
            self.answered += result is not None
            return result
        monkeypatch.setattr(phrases_module, "paired_phrase_units", counting)


def decode(pa: PairArrays) -> dict[tuple[int, int, int], int]:
    """{(first term id, second term id, unit): tf} of pair arrays, checking their layout on the way."""
    assert pa.keys.dtype == np.uint64 and pa.ptr.dtype == np.int64
    assert pa.unit.dtype == np.uint32 and pa.tf.dtype == np.uint32
    keys, ptr, unit, tf = (np.asarray(a) for a in (pa.keys, pa.ptr, pa.unit, pa.tf))
    assert len(ptr) == len(keys) + 1 and ptr[0] == 0 and ptr[-1] == len(unit) == len(tf)
    assert np.all(keys[1:] > keys[:-1])  # strictly ascending
    assert np.all(np.diff(ptr) >= 1)
    out = {}
    for k in range(len(keys)):
        a, b = int(keys[k]) >> 32, int(keys[k]) & 0xFFFFFFFF
        units = unit[ptr[k]:ptr[k + 1]].astype(np.int64)
        assert np.all(np.diff(units) > 0), "units of a pair must ascend"
        for j in range(ptr[k], ptr[k + 1]):
            assert tf[j] >= 1
            out[(a, b, int(unit[j]))] = int(tf[j])
    return out


def expected_pairs(reader, field: str, docs: "list[int] | None" = None) -> dict[tuple[int, int, int], int]:
    """The adjacent word pairs of a segment's field, from its stored text: each unit (document or
    passage, by its character span) analysed on its own; two terms pair up when their positions
    differ by exactly 1 (a dropped stop word between them breaks the pair)."""
    fr = reader.fields[field]
    out: Counter = Counter()
    for doc in range(reader.doc_count) if docs is None else docs:
        text = reader.stored.get(doc).get(field, "")
        if fr.split:
            unit_doc = np.asarray(fr.unit_doc)
            units = [(int(u), text[int(fr.unit_span[u][0]):int(fr.unit_span[u][1])])
                     for u in np.flatnonzero(unit_doc == doc)]
        else:
            units = [(doc, text)]
        for u, piece in units:
            terms, pos = ENGLISH.index_terms(piece)
            for i in range(len(terms) - 1):
                if pos[i + 1] == pos[i] + 1:
                    out[(fr.term_id(terms[i]), fr.term_id(terms[i + 1]), u)] += 1
    return dict(out)


# -- 1. equivalence with an index without pairs ---------------------------------------------------

DOCS = make_docs(150, seed=11)
DELETED = [f"d{i}" for i in range(3, 150, 7)]


def _compare_all(plain: Index, paired: Index, phrases: list[str]) -> tuple[int, int]:
    """Every phrase on every text field, grouped and per passage; returns (queries, matched)."""
    queries = matched = 0
    with plain.searcher() as s_plain, paired.searcher() as s_paired:
        for phrase in phrases:
            for field in TEXT_FIELDS:
                q = f'{field}:"{phrase}"'
                for group in ((True, False) if field != "body" else (True,)):
                    a, b = hits(s_plain, q, group=group), hits(s_paired, q, group=group)
                    assert_same(a, b, f"{q} group={group}")
                    queries += 1
                    matched += a[0] > 0
    return queries, matched


@pytest.mark.slow
@pytest.mark.parametrize("whole_keys", [None, 0], ids=["default", "per-unit"])
def test_exact_phrases_equal_an_index_without_pairs_across_segments_deletions_and_merge(tmp_path, monkeypatch,
                                                                                        whole_keys):
    # By default a phrase of 3+ words with few positions is keyed whole, pairs or not: only two-word
    # phrases use the pairs. With no phrase counted as "few", longer phrases take the pair
    # candidates (paired index) or the posting-list intersection (plain index).
    share = 0.15
    if whole_keys is not None:
        monkeypatch.setattr(phrases_module, "WHOLE_KEYS", whole_keys)
        share = 0.5
    plain = build(tmp_path / "plain", DOCS, False, DELETED)
    paired = build(tmp_path / "paired", DOCS, True, DELETED)
    with paired.searcher() as s:
        assert len(s.readers) == 3 and all(r.live is not None for r in s.readers)
    phrases = make_phrases(random.Random(5), DOCS, 170)
    phrases += ["rate of growth", "rate growth", "new york", "new new", "york york york", "the new york",
                "price of the market", "new york of", "high and low"]
    calls = PairedCalls(monkeypatch)
    queries, matched = _compare_all(plain, paired, phrases)
    assert queries > 800
    # not vacuous: many phrases match, many do not
    assert 0.3 * queries < matched < 0.9 * queries, (matched, queries)
    # the paired index really answered phrases from its pairs (the plain one never tried)
    assert calls.answered > share * queries, (calls.answered, calls.calls, queries)

    plain.optimize()
    with paired.writer() as w:
        w.commit(optimize=True)
    with paired.searcher() as s:
        assert len(s.readers) == 1 and s.readers[0].live is None
        assert all(s.readers[0].fields[f].pairs is not None for f in TEXT_FIELDS)
    before = calls.answered
    queries, matched = _compare_all(plain, paired, phrases)
    assert 0.3 * queries < matched < 0.9 * queries
    assert calls.answered - before > share * queries


@pytest.mark.slow
def test_phrases_inside_other_queries_and_sloppy_phrases_are_unchanged(tmp_path):
    plain = build(tmp_path / "plain", DOCS, False, DELETED)
    paired = build(tmp_path / "paired", DOCS, True, DELETED)
    rng = random.Random(9)
    phrases = make_phrases(rng, DOCS, 40)
    queries = []
    for p in phrases:
        other = rng.choice(make_phrases(rng, DOCS, 1))
        w = rng.choice(CONTENT)
        queries += [f'"{p}" AND {w}', f'"{p}" OR "{other}"', f'"{p}" -{w}', f'+"{p}" +"{other}"',
                    f'"{p}"~2', f'"{p}"^3 {w}', f'body:"{p}" OR win:"{other}"']
    matched = 0
    with plain.searcher() as a, paired.searcher() as b:
        for q in queries:
            for group in (True, False):
                x, y = hits(a, q, group=group), hits(b, q, group=group)
                assert_same(x, y, f"{q} group={group}")
                matched += x[0] > 0
        # explain gives the score search gives, from the pairs too
        for q in (f'body:"{p}"' for p in phrases[:15]):
            for h in b.search(q, limit=3, highlight=False):
                assert np.float32(b.explain(q, h.id).value) == pytest.approx(np.float32(h.score), rel=1e-5)
                assert a.explain(q, h.id).value == pytest.approx(b.explain(q, h.id).value, rel=1e-9)
    assert matched > len(queries) // 2


def test_dense_and_sparse_evaluation_agree_on_paired_phrases(tmp_path):
    """Whole-document segments are evaluated sparsely by default; the dense evaluator must give
    the same phrase matches and scores from the pairs."""
    plain = build(tmp_path / "plain", DOCS, False, DELETED, make_schema=body_only)
    paired = build(tmp_path / "paired", DOCS, True, DELETED, make_schema=body_only)
    phrases = make_phrases(random.Random(17), DOCS, 60)
    with paired.searcher() as s:
        found = 0
        for phrase in phrases:
            node = Compiler(s.schema, s.settings.fields_for(s.schema)).compile(s.parse(f'body:"{phrase}"'))
            weight = Weight(node, s.stats, BM25(s.settings.k1, s.settings.b), s.scorers)
            for seg in range(len(s.readers)):
                dense, sparse = weight.scorers.get(seg, weight.bm25, dense=True), weight.scorer(seg)
                assert type(sparse).__name__ == "SparseScorer"
                m = dense.evaluate(weight.root)
                docs, scores = sparse.evaluate(weight.root)
                assert docs.tolist() == np.flatnonzero(m.docs).tolist(), phrase
                expected = m.doc_score[docs] if m.doc_score is not None else np.zeros(len(docs), np.float32)
                np.testing.assert_array_equal(scores, expected, err_msg=phrase)
                found += len(docs)
            assert_same(hits(plain, f'"{phrase}"'), hits(s, f'"{phrase}"'), phrase)
        assert found > 0


# -- 2. the stored pairs are exactly the adjacent words ----------------------------------------------

TINY = [{"id": "a", "body": "new york new york"},
        {"id": "b", "body": "rate of growth"},
        {"id": "c", "body": "growth rate new york"},
        {"id": "d", "body": "york york york"}]


def tiny_index(path: Path) -> Index:
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True),
                                   body=TEXT(analyzer="english", stored=True, index_phrases=True),
                                   title=TEXT(analyzer="english", stored=True)))
    with ix.writer() as w:
        for doc in TINY:
            w.add({**doc, "title": doc["body"]})
    return ix


def test_pair_lookup_on_a_hand_written_corpus(tmp_path):
    ix = tiny_index(tmp_path / "ix")
    with ix.searcher() as s:
        (reader,) = s.readers
        fr = reader.fields["body"]
        assert reader.fields["title"].pairs is None  # no index_phrases on that field
        t = {term: fr.term_id(term) for term in ("new", "york", "rate", "growth")}

        def lookup(a, b):
            found = fr.pairs.lookup(t[a], t[b])
            return None if found is None else (np.asarray(found[0]).tolist(), np.asarray(found[1]).tolist())

        assert lookup("new", "york") == ([0, 2], [2, 1])
        assert lookup("york", "new") == ([0], [1])
        assert lookup("york", "york") == ([3], [2])
        assert lookup("growth", "rate") == ([2], [1])
        assert lookup("rate", "new") == ([2], [1])
        assert lookup("rate", "growth") is None  # "of" between them: not adjacent
        assert lookup("growth", "new") is None
        assert lookup("new", "new") is None
        assert fr.info["pairs"] == 5 and fr.info["pair_postings"] == 6
        assert decode(fr.pairs) == expected_pairs(reader, "body")
    assert [h.id for h in ix.search('body:"rate of growth"')] == ["b"]
    assert [h.id for h in ix.search('body:"rate growth"')] == []
    assert [h.id for h in ix.search('body:"growth rate"')] == ["c"]
    assert [h.id for h in ix.search('body:"new york new"')] == ["a"]
    assert [h.id for h in ix.search('body:"york york york"')] == ["d"]
    assert [h.id for h in ix.search('body:"york york york york"')] == []


def test_deleted_documents_pairs_are_gone_after_a_merge(tmp_path):
    ix = tiny_index(tmp_path / "ix")
    with ix.writer() as w:
        w.add({"id": "e", "body": "york new"})  # a second segment
        w.add({"id": "f", "body": "market price"})
    with ix.writer() as w:
        assert w.delete("a") == 1 and w.delete("e") == 1
    with ix.searcher() as s:
        assert len(s.readers) == 2
        # still in the segment (deletions only mask it) but never found
        fr = s.readers[0].fields["body"]
        assert fr.pairs.lookup(fr.term_id("york"), fr.term_id("new")) is not None
        assert s.search('body:"york new"').total == 0
        assert s.search('body:"new york"').total == 1
    ix.optimize()
    with ix.searcher() as s:
        (reader,) = s.readers
        fr = reader.fields["body"]
        assert reader.doc_count == 4 and reader.live is None
        assert fr.pairs.lookup(fr.term_id("york"), fr.term_id("new")) is None
        found = fr.pairs.lookup(fr.term_id("new"), fr.term_id("york"))
        assert (np.asarray(found[0]).tolist(), np.asarray(found[1]).tolist()) == ([1], [1])  # c, renumbered
        assert decode(fr.pairs) == expected_pairs(reader, "body")
        assert fr.info["pair_postings"] == len(fr.pairs.unit) == 5


def test_every_segment_stores_exactly_the_adjacent_pairs(tmp_path):
    """All pairs of every field of every segment, before and after a merge, against the stored
    text analysed here; deleted documents' pairs stay until the merge, then disappear."""
    ix = build(tmp_path / "ix", DOCS, True, DELETED)
    with ix.searcher() as s:
        assert len(s.readers) == 3
        for reader in s.readers:
            for field in TEXT_FIELDS:
                fr = reader.fields[field]
                assert fr.pairs is not None
                assert decode(fr.pairs) == expected_pairs(reader, field), field
                assert fr.info["pair_postings"] == len(fr.pairs.unit)
            assert reader.fields["plain"].pairs is None
    with ix.writer(merge_factor=100) as w:
        w.commit(optimize=True)
    with ix.searcher() as s:
        (reader,) = s.readers
        assert reader.doc_count == len(DOCS) - len(DELETED)
        ids = {reader.stored.get(d)["id"] for d in range(reader.doc_count)}
        assert ids == {d["id"] for d in DOCS} - set(DELETED)
        for field in TEXT_FIELDS:
            pa = reader.fields[field].pairs
            got = decode(pa)
            assert got == expected_pairs(reader, field), field
            assert max(u for _, _, u in got) < reader.fields[field].units
        assert reader.fields["plain"].pairs is None
    assert ix.check().ok


# -- 3. fields and indexes without pairs ----------------------------------------------------------

@pytest.mark.slow
def test_without_index_phrases_there_are_no_pairs_and_phrases_still_work(tmp_path):
    """An index made before the feature is simulated by index_phrases=False: no pair files, no
    meta.json counts, the schema text unchanged, phrases answered from positions."""
    ix = build(tmp_path / "old", DOCS[:60], False, DELETED[:3])
    manifest = read_manifest(ix.path)
    assert all("index_phrases" not in spec for spec in manifest.schema.values())
    for entry in manifest.segments:
        assert not [f for f in entry.files if ".pair" in f]
    with ix.searcher() as s:
        for reader in s.readers:
            for name, fr in reader.fields.items():
                assert fr.pairs is None and "pairs" not in fr.info, name
        assert [h.id for h in s.search('body:"rate of growth"', limit=100)] == \
               [h.id for h in s.search('body:"rate of growth"~0', limit=100)]
    assert ix.check().ok
    # the same documents, paired: the phrases agree
    paired = build(tmp_path / "new", DOCS[:60], True, DELETED[:3])
    for phrase in make_phrases(random.Random(3), DOCS[:60], 40):
        assert_same(hits(ix, f'"{phrase}"'), hits(paired, f'"{phrase}"'), phrase)


def test_schema_flag():
    assert TEXT(index_phrases=True).to_json()["index_phrases"] is True
    assert "index_phrases" not in TEXT().to_json()
    with pytest.raises(SchemaError, match="index_phrases"):
        TEXT(index_phrases=True, positions=False)
    s = Schema(body=TEXT(index_phrases=True), title=TEXT())
    back = Schema.from_json(s.to_json())
    assert back == s and back.fields["body"].index_phrases and not back.fields["title"].index_phrases
    assert TEXT(index_phrases=True) != TEXT()


# -- 4. pairs.py --------------------------------------------------------------------------------------

def as_lists(pa: PairArrays) -> tuple[list, list, list, list]:
    return tuple(np.asarray(a).tolist() for a in (pa.keys, pa.ptr, pa.unit, pa.tf))


def test_postings_from_occurrences_and_from_postings():
    keys = np.array([5, 3, 5, 3, 5, 5, 9], dtype=np.uint64)
    units = np.array([0, 1, 0, 2, 3, 3, 7], dtype=np.uint32)
    pa = postings(keys, units)
    assert as_lists(pa) == ([3, 5, 9], [0, 2, 4, 5], [1, 2, 0, 3, 7], [1, 1, 2, 2, 1])
    assert pa.keys.dtype == np.uint64 and pa.ptr.dtype == np.int64
    assert pa.unit.dtype == np.uint32 and pa.tf.dtype == np.uint32
    # with frequencies: postings of a key in one unit are summed
    tf = np.array([2, 1, 3, 4, 1, 5, 6], dtype=np.uint32)
    assert as_lists(postings(keys, units, tf)) == ([3, 5, 9], [0, 2, 4, 5], [1, 2, 0, 3, 7], [1, 4, 5, 6, 6])
    empty = postings(np.zeros(0, np.uint64), np.zeros(0, np.uint32))
    assert as_lists(empty) == ([], [0], [], [])
    assert empty.lookup(1, 2) is None
    assert set(pa.arrays()) == {"pairkey", "pairptr", "pairunit", "pairtf"}


def test_pair_keys_and_lookup_with_large_term_ids():
    first = np.array([0, 1, 2**32 - 1, 70_000], dtype=np.int64)
    second = np.array([2**32 - 1, 0, 0, 65_536], dtype=np.int64)
    keys = pair_key(first, second)
    assert keys.dtype == np.uint64
    assert keys.tolist() == [2**32 - 1, 2**32, (2**32 - 1) << 32, 70_000 << 32 | 65_536]
    pa = postings(keys, np.array([4, 3, 2, 1], dtype=np.uint32))
    for a, b, u in zip(first.tolist(), second.tolist(), [4, 3, 2, 1]):
        units, tf = pa.lookup(a, b)
        assert np.asarray(units).tolist() == [u] and np.asarray(tf).tolist() == [1]
    assert pa.lookup(0, 0) is None and pa.lookup(2**32 - 1, 2**32 - 1) is None and pa.lookup(70_000, 0) is None


def test_from_tokens_pairs_only_consecutive_positions_of_one_unit():
    # unit 0: a@0 b@1 a@3 b@4 b@5   unit 1: b@0 c@2   unit 2: c@0   unit 3: c@0 c@1 c@2
    tid = np.array([0, 1, 0, 1, 1, 1, 2, 2, 2, 2, 2], dtype=np.int64)
    unit = np.array([0, 0, 0, 0, 0, 1, 1, 2, 3, 3, 3], dtype=np.uint32)
    pos = np.array([0, 1, 3, 4, 5, 0, 2, 0, 0, 1, 2], dtype=np.uint32)
    pa = from_tokens(tid, unit, pos)
    got = decode(pa)
    assert got == {(0, 1, 0): 2, (1, 1, 0): 1, (2, 2, 3): 2}
    # (b, a) at positions 1 and 3: a stop word between; (b, c) in unit 1: position gap;
    # (c, c) across units 1-2 and 2-3: different units
    assert as_lists(from_tokens(tid[:1], unit[:1], pos[:1])) == ([], [0], [], [])
    assert as_lists(from_tokens(tid[:0], unit[:0], pos[:0])) == ([], [0], [], [])


def test_merge_with_remap_deleted_units_and_new_numbers():
    # segment 1: terms 0=x 1=y 2=z; units 0..2, unit 1 deleted
    one = postings(pair_key(np.array([0, 0, 1, 2, 2]), np.array([1, 1, 0, 2, 2])),
                   np.array([0, 1, 1, 1, 2], dtype=np.uint32),
                   np.array([2, 1, 1, 3, 1], dtype=np.uint32))
    # x y: units 0 (tf 2), 1; y x: unit 1; z z: units 1 (tf 3), 2
    remap1 = np.array([5, 7, 3])  # merged ids
    keep1 = np.array([True, False, True])
    new1 = np.array([0, 0, 1], dtype=np.uint32)  # unit 1 deleted: its number is never read
    # segment 2: terms 0=y 1=w(only in a deleted unit) 2=x; units 0..1, unit 0 deleted
    two = postings(pair_key(np.array([2, 1, 0]), np.array([0, 2, 2])),
                   np.array([1, 0, 1], dtype=np.uint32), np.array([4, 1, 1], dtype=np.uint32))
    # x y: unit 1 (tf 4); w x: unit 0; y x: unit 1
    remap2 = np.array([7, -1, 5])  # w is dropped: only in the deleted unit
    keep2 = np.array([False, True])
    new2 = np.array([2, 2], dtype=np.uint32)  # after segment 1's two surviving units
    merged = merge([(one, remap1, keep1, new1), (two, remap2, keep2, new2)])
    expected = {(5, 7, 0): 2, (5, 7, 2): 4, (3, 3, 1): 1, (7, 5, 2): 1}
    assert decode(merged) == expected
    assert np.asarray(merged.lookup(5, 7)[0]).tolist() == [0, 2]
    assert merged.lookup(7, 5) is not None and merged.lookup(1, 2) is None
    assert as_lists(merge([])) == ([], [0], [], [])
    # everything deleted: nothing left
    nothing = merge([(one, remap1, np.zeros(3, bool), new1)])
    assert as_lists(nothing) == ([], [0], [], [])


@st.composite
def token_streams(draw):
    n_units = draw(st.integers(1, 5))
    tid, unit, pos = [], [], []
    for u in range(n_units):
        p = 0
        for _ in range(draw(st.integers(0, 8))):
            tid.append(draw(st.integers(0, 3)))
            unit.append(u)
            pos.append(p)
            p += draw(st.sampled_from([1, 1, 1, 2, 3]))
    return (np.array(tid, dtype=np.int64), np.array(unit, dtype=np.uint32), np.array(pos, dtype=np.uint32))


def naive_pairs(tid, unit, pos) -> dict:
    out: Counter = Counter()
    for i in range(len(tid) - 1):
        if unit[i] == unit[i + 1] and int(pos[i + 1]) - int(pos[i]) == 1:
            out[(int(tid[i]), int(tid[i + 1]), int(unit[i]))] += 1
    return dict(out)


@settings(max_examples=150, deadline=None)
@given(stream=token_streams())
def test_from_tokens_equals_a_naive_count(stream):
    assert decode(from_tokens(*stream)) == naive_pairs(*stream)


@settings(max_examples=100, deadline=None)
@given(streams=st.lists(token_streams(), min_size=1, max_size=3), data=st.data())
def test_merge_equals_a_naive_merge(streams, data):
    parts, expected, offset = [], Counter(), 0
    for tid, unit, pos in streams:
        n_units = int(unit.max()) + 1 if len(unit) else 1
        keep = np.array(data.draw(st.lists(st.booleans(), min_size=n_units, max_size=n_units)))
        new_unit = (np.cumsum(keep) - 1 + offset).astype(np.uint32)
        offset += int(keep.sum())
        remap = np.array(data.draw(st.permutations(range(6)))[:4], dtype=np.int64)  # injective
        # A term with no posting in a surviving unit may be dropped from the merged dictionary (-1),
        # as a merge drops the terms of deleted documents; a term with one must keep its id.
        live_terms = {int(t) for t, u in zip(tid, unit) if keep[u]}
        drop = data.draw(st.lists(st.booleans(), min_size=4, max_size=4))
        remap[[t for t in range(4) if drop[t] and t not in live_terms]] = -1
        parts.append((from_tokens(tid, unit, pos), remap, keep, new_unit))
        for (a, b, u), n in naive_pairs(tid, unit, pos).items():
            if keep[u]:
                assert remap[a] >= 0 and remap[b] >= 0
                expected[(int(remap[a]), int(remap[b]), int(new_unit[u]))] += n
    assert decode(merge(parts)) == dict(expected)


# -- 5. damaged pair files ---------------------------------------------------------------------------

def damage_index(path: Path) -> Index:
    ix = Index.create(path, Schema(id=ID(unique=True, stored=True),
                                   body=TEXT(analyzer="english", stored=True, index_phrases=True)))
    for part in range(2):
        with ix.writer(merge_factor=100) as w:
            for doc in DOCS[part * 30:(part + 1) * 30]:
                w.add({"id": doc["id"], "body": doc["body"]})
    assert ix.check().ok
    return ix


def pair_file(ix: Index, suffix: str, segment: int = 0) -> Path:
    return segment_file(ix, f"body.{suffix}.npy", segment)


@pytest.mark.parametrize("suffix", pairs_module.SUFFIXES)
def test_changed_byte_in_a_pair_file_is_reported(tmp_path, suffix):
    ix = damage_index(tmp_path / "ix")
    with ix.searcher() as s:  # this process has verified every file once
        assert s.search('"new york"').total > 0
    path = pair_file(ix, suffix, segment=1)
    flip_byte(path, at=-1)  # the last byte: array data, same size
    report = check_index(ix.path)
    assert not report.ok
    assert report.damaged_files == [str(path)], report.format()
    assert "checksum" in report.format()
    assert_searcher_refuses(ix.path, path)


@pytest.mark.parametrize("suffix", pairs_module.SUFFIXES)
def test_truncated_pair_file_is_reported(tmp_path, suffix):
    ix = damage_index(tmp_path / "ix")
    path = pair_file(ix, suffix)
    truncate(path, 4)
    report = ix.check()
    assert report.damaged_files == [str(path)], report.format()
    assert_searcher_refuses(ix.path, path)


@pytest.mark.parametrize("suffix", pairs_module.SUFFIXES)
def test_missing_pair_file_is_reported(tmp_path, suffix):
    ix = damage_index(tmp_path / "ix")
    path = pair_file(ix, suffix)
    path.unlink()
    report = ix.check()
    assert report.damaged_files == [str(path)], report.format()
    assert "missing" in report.format()
    assert_searcher_refuses(ix.path, path)


def drop_from_manifest(ix: Index, segment: int, fname: str) -> Path:
    manifest = edit_manifest(ix.path, lambda manifest: manifest.segments[segment].files.pop(fname))
    return ix.path / SEGMENTS_DIR / manifest.segments[segment].name / fname


def _load(ix: Index, suffix: str, segment: int = 0) -> np.ndarray:
    return np.load(pair_file(ix, suffix, segment)).copy()


@pytest.mark.parametrize("damage", ["unit out of range", "units not ascending", "keys not ascending",
                                    "key past the dictionary", "pointers", "tf zero", "count vs meta"])
def test_pair_structure_behind_valid_checksums_is_reported(tmp_path, damage):
    ix = damage_index(tmp_path / "ix")
    keys, ptr, unit, tf = (_load(ix, s) for s in pairs_module.SUFFIXES)
    multi = int(np.flatnonzero(np.diff(ptr) >= 2)[0])  # a pair with two postings or more
    if damage == "unit out of range":
        unit[-1] = 10_000
        target = rewrite(ix, 0, "body.pairunit.npy", unit)
    elif damage == "units not ascending":
        a = int(ptr[multi])
        unit[a], unit[a + 1] = unit[a + 1], unit[a]
        target = rewrite(ix, 0, "body.pairunit.npy", unit)
    elif damage == "keys not ascending":
        keys[0], keys[1] = keys[1], keys[0]
        target = rewrite(ix, 0, "body.pairkey.npy", keys)
    elif damage == "key past the dictionary":
        keys[-1] = np.uint64(999) << np.uint64(32)
        target = rewrite(ix, 0, "body.pairkey.npy", keys)
    elif damage == "pointers":
        ptr[1] += 1
        ptr[2] -= 1  # a pair with no postings, or pointers going backwards
        target = rewrite(ix, 0, "body.pairptr.npy", ptr)
    elif damage == "tf zero":
        tf[0] = 0
        target = rewrite(ix, 0, "body.pairtf.npy", tf)
    else:
        target = rewrite(ix, 0, "body.pairunit.npy", unit[:-1])  # meta.json counts one more
    report = check_index(ix.path)
    assert not report.ok
    # the older kept commit still lists the replaced file's old checksum: only the newest commit's
    # structural findings tell whether the structure itself was checked
    found = structural(report)
    assert found, report.format()
    assert {p.path for p in found} == {str(target)}, report.format()


def structural(report) -> list:
    """Problems other than a file's size or checksum differing from a manifest."""
    return [p for p in report.problems if "checksum mismatch" not in p.message and "size is" not in p.message]


def test_pair_pointer_length_mismatch_is_refused_on_open(tmp_path):
    ix = damage_index(tmp_path / "ix")
    ptr = _load(ix, "pairptr")
    target = rewrite(ix, 0, "body.pairptr.npy", ptr[:-1])
    assert_searcher_refuses(ix.path, target)
    found = structural(check_index(ix.path))
    assert [p.path for p in found] == [str(target)], found


def test_pair_file_missing_from_the_manifest_is_refused(tmp_path):
    """meta.json says the field has pairs but the manifest does not list one of the files."""
    ix = damage_index(tmp_path / "ix")
    target = drop_from_manifest(ix, 1, "body.pairtf.npy")
    assert_searcher_refuses(ix.path, target, match="manifest")
    report = check_index(ix.path)
    assert str(target) in report.damaged_files, report.format()


# -- 6. configuration ----------------------------------------------------------------------------

CONFIG = """\
path: ix
schema:
  id: {{type: id, unique: true}}
  body:
    type: text
    analyzer: english
    stored: true
{extra}
  title: {{type: text}}
"""


def write_config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "searchlib.yaml"
    path.write_text(CONFIG.format(extra=extra), encoding="utf-8")
    return path


def test_config_index_phrases_builds_pairs(tmp_path):
    cfg = write_config(tmp_path, "    index_phrases: true")
    ix = Index.from_config(cfg)
    assert ix.schema.fields["body"].index_phrases and not ix.schema.fields["title"].index_phrases
    with ix.writer() as w:
        for doc in TINY:
            w.add({**doc, "title": doc["body"]})
    with ix.searcher() as s:
        fr = s.readers[0].fields["body"]
        assert fr.pairs is not None and s.readers[0].fields["title"].pairs is None
        assert fr.pairs.lookup(fr.term_id("new"), fr.term_id("york")) is not None
    assert [h.id for h in ix.search('body:"new york"')] == ["a", "c"]
    # reopening with the same configuration finds the same schema; the dumped YAML keeps the flag
    assert Index.from_config(cfg).schema == ix.schema
    dumped = dump_config(load_config(cfg))
    assert "index_phrases: true" in dumped
    again = tmp_path / "again.yaml"
    again.write_text(dumped, encoding="utf-8")
    assert load_config(again).schema == ix.schema


def test_config_index_phrases_must_be_a_boolean(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, '    index_phrases: "yes"'))
    assert info.value.key_path == "schema.body.index_phrases"
    assert "index_phrases" in str(info.value)


def test_config_index_phrases_needs_positions(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, "    index_phrases: true\n    positions: false"))
    assert info.value.key_path.startswith("schema.body")
    assert "index_phrases" in str(info.value) and "positions" in str(info.value)
    # positions: false alone is fine
    assert not load_config(write_config(tmp_path, "    positions: false")).schema.fields["body"].positions


def test_pair_file_of_the_wrong_type_is_named_on_open_and_by_check(tmp_path):
    ix = damage_index(tmp_path / "ix")
    keys = _load(ix, "pairkey")
    target = rewrite(ix, 0, "body.pairkey.npy", keys.astype(np.int64))
    assert_searcher_refuses(ix.path, target, match="holds int64")
    found = structural(check_index(ix.path))
    assert [p.path for p in found] == [str(target)] and "int64" in found[0].message, found
