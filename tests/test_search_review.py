"""Review fixes in search and highlighting: passage scores follow the rule hits are ranked by,
whole-document hits of a flat search, and highlighting from only the tokens a query can mark."""
from __future__ import annotations

import random

import pytest

from searchlib import ID, TEXT, Index, Schema
from searchlib.analysis import Analyzer, Filter, LowercaseFilter, RegexTokenizer, Token, Tokenizer, get_analyzer
from searchlib.highlight import highlight

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


# -- highlighting from the query's tokens only --------------------------------------------------

class _Upper(Filter):
    """A stream filter (not a TermFilter), so an analyzer using it is not fused."""

    def __call__(self, tokens):
        for tok in tokens:
            yield tok._replace(term=tok.term.upper())


class _Pairs(Tokenizer):
    """A tokenizer that is not a RegexTokenizer: two-character pieces with their offsets."""

    def __call__(self, text):
        for i in range(0, len(text) - 1, 2):
            yield Token(text[i:i + 2], i // 2, i, i + 2)


TEXT_SAMPLE = ("The glaciers of the Alps are melting: a glacier's ice, 3.5 km thick in places, "
               "is thinning. Late miscarriages and the end of the year; İstanbul, Zoë, at&t.")


@pytest.mark.parametrize("analyzer", [
    get_analyzer("english"), get_analyzer("standard"), get_analyzer("whitespace"), get_analyzer("keyword"),
    get_analyzer("german"), Analyzer(RegexTokenizer(), [LowercaseFilter(), _Upper()]),
    Analyzer(_Pairs(), [LowercaseFilter()]),
], ids=["english", "standard", "whitespace", "keyword", "german", "not-fused", "other-tokenizer"])
def test_tokens_matching_is_the_full_analysis_filtered(analyzer):
    full = list(analyzer(TEXT_SAMPLE))
    assert full
    for wanted in [set(), {t.term for t in full}, {t.term for t in full[::3]} | {"absent"}, {full[-1].term}]:
        assert analyzer.tokens_matching(TEXT_SAMPLE, wanted) == [t for t in full if t.term in wanted]


def test_a_phrase_across_a_stop_word_keeps_its_positions():
    """Only the query's tokens are built, but at the positions of the full analysis: a phrase
    with a stop word inside still matches where the words are that far apart, and only there."""
    en = get_analyzer("english")
    text = "The end of the year came. The end year came."
    out = highlight(text, en, {"end": 1.0, "year": 1.0}, [[(0, "end"), (3, "year")]], formatter="plain")
    assert out == "The [end of the year] came. The [end] [year] came."


# -- one parsing rule ------------------------------------------------------------------------------

def test_index_writer_and_searcher_parse_alike(tmp_path):
    from searchlib import QuerySyntaxError
    ix = Index.create(tmp_path / "ix", Schema(id=ID(unique=True, stored=True), title=TEXT(), body=TEXT()),
                      settings={"operator": "AND"})
    with ix.writer() as w:
        w.add({"id": "1", "title": "snow ice", "body": "glacier"})
        w.add({"id": "2", "title": "snow", "body": "river"})
    with ix.searcher() as s:
        for text in ["snow ice", "title:snow body:river", "snow OR river", "-ice", '"snow ice"']:
            assert ix.parse_query(text) == s.parse(text)
        assert s.parse("snow ice", operator="OR") != s.parse("snow ice")  # the index's AND by default
        with pytest.raises(QuerySyntaxError):
            ix.parse_query("nosuch:snow")
        with pytest.raises(QuerySyntaxError):
            s.parse("nosuch:snow")
        assert ix.parse_query("nosuch:snow", lenient=True) == s.parse("nosuch:snow", lenient=True)
    with ix.writer() as w:
        assert w.delete_by_query("snow ice") == 1  # AND, as the index says
    with ix.searcher() as s:
        assert [h.id for h in s.search("snow")] == ["2"]
