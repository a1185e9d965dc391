"""Small adapters that put searchlib and its peers behind one interface for the benchmarks.

Every adapter is a class with

* ``index(corpus)``: build a searchable index from BEIR documents (``{"_id", "title", "text"}``), with
  title and text as ONE field (``title + "\\n" + text``), English stemming, and k1/b where the engine
  lets us set them; the index must be committed and a searcher open when it returns;
* ``search(text, k) -> list[str]``: document ids for the raw query text, best first, through the engine's
  own query parser (escaped or sanitised only where the engine would otherwise raise);
* ``close()``: release files and memory.

The class attribute ``module`` names the package to import; :func:`make_engine` imports it and raises
``ImportError`` if the engine is not installed, so that the runner can skip it with a note. Adapters say in
``settings`` what they really ran with (analysis, BM25 parameters), because not every engine lets us choose.
"""
from __future__ import annotations

import importlib
import re
import shutil
import tempfile
from importlib import metadata
from typing import Callable, Iterable

__all__ = ["ENGINES", "make_engine", "Engine"]

_WORD = re.compile(r"\w+")


def _body(doc: dict) -> str:
    """The one text field every engine indexes: title, newline, text."""
    title = doc.get("title") or ""
    return f"{title}\n{doc.get('text') or ''}" if title else (doc.get("text") or "")


def _version(dist: str) -> str:
    """The installed distribution's version, else the module's ``__version__`` (a source checkout)."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        try:
            return str(importlib.import_module(dist).__version__)
        except (ImportError, AttributeError):
            return "?"


class Engine:
    """Base class: a temporary directory, a display name with the installed version, and settings."""

    name = "?"
    module = ""
    dist = ""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tmpdir = tempfile.mkdtemp(prefix=f"bench-{self.name}-")
        self.fallbacks = 0  # queries the engine's parser rejected and we had to escape

    @property
    def label(self) -> str:
        return f"{self.name} {_version(self.dist or self.module)}"

    @property
    def settings(self) -> str:
        return f"k1={self.k1} b={self.b}"

    def prepare(self) -> None:
        """Load what the engine needs before indexing (imports, analyzers); not part of index time."""

    def index(self, corpus: list[dict]) -> None:
        raise NotImplementedError

    def search(self, text: str, k: int) -> list[str]:
        raise NotImplementedError

    def close(self) -> None:
        shutil.rmtree(self.tmpdir, ignore_errors=True)


class SearchlibEngine(Engine):
    name, module, dist = "searchlib", "searchlib", "searchlib"

    @property
    def settings(self) -> str:
        from searchlib.config import Settings
        return f"english analyzer, k1={self.k1} b={self.b} (per query), proximity {Settings().proximity:g} (the default)"

    def prepare(self) -> None:
        from searchlib import get_analyzer
        get_analyzer("english")  # imports nltk's stemmer (0.2-0.6 s): library loading, not indexing

    def index(self, corpus: list[dict]) -> None:
        from searchlib import ID, TEXT, Index, Schema
        schema = Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer="english", stored=False))
        self.ix = Index.create(self.tmpdir, schema, overwrite=True)
        with self.ix.writer() as w:
            for d in corpus:
                w.add({"id": d["_id"], "body": _body(d)})
        self.searcher = self.ix.searcher()

    def search(self, text: str, k: int) -> list[str]:
        res = self.searcher.search(text, limit=k, lenient=True, highlight=False, k1=self.k1, b=self.b)
        return [h.id for h in res]

    def close(self) -> None:
        s = getattr(self, "searcher", None)
        if s is not None:
            s.close()
        ix = getattr(self, "ix", None)
        if ix is not None and hasattr(ix, "close"):
            ix.close()
        super().close()


class TantivyEngine(Engine):
    name, module, dist = "tantivy", "tantivy", "tantivy"
    stored_body = False  # True keeps the text for snippets (benchmarks/snippets.py)
    # Characters with a meaning in tantivy's query grammar; escaped only when parse_query raises.
    _SPECIAL = re.compile(r'([+\-^`:{}"\[\]()<>~!\\*=\'])')

    @property
    def settings(self) -> str:
        return "en_stem tokenizer (Snowball English, no stop words), BM25 k1=1.2 b=0.75 fixed by tantivy"

    def index(self, corpus: list[dict]) -> None:
        import tantivy
        sb = tantivy.SchemaBuilder()
        sb.add_text_field("id", stored=True, tokenizer_name="raw")
        sb.add_text_field("body", stored=self.stored_body, tokenizer_name="en_stem")
        self.schema = sb.build()
        self.ix = tantivy.Index(self.schema, path=self.tmpdir)
        writer = self.ix.writer(heap_size=256_000_000)
        for d in corpus:
            writer.add_document(tantivy.Document(id=d["_id"], body=_body(d)))
        writer.commit()
        writer.wait_merging_threads()
        self.ix.reload()
        self.searcher = self.ix.searcher()

    def _parse(self, text: str):
        try:
            return self.ix.parse_query(text, ["body"])
        except ValueError:
            self.fallbacks += 1
            escaped = self._SPECIAL.sub(r"\\\1", text)
            for word in ("AND", "OR", "NOT", "IN"):
                escaped = re.sub(rf"\b{word}\b", word.lower(), escaped)
            try:
                return self.ix.parse_query(escaped, ["body"])
            except ValueError:
                return self.ix.parse_query_lenient(text, ["body"])[0]

    def search(self, text: str, k: int) -> list[str]:
        searcher = self.searcher
        hits = searcher.search(self._parse(text), k).hits
        return [searcher.doc(addr)["id"][0] for _score, addr in hits]

    def close(self) -> None:
        self.searcher = self.ix = None
        super().close()


class WhooshEngine(Engine):
    name, module, dist = "whoosh", "whoosh", "whoosh"

    @property
    def settings(self) -> str:
        return f"StemmingAnalyzer (Porter, Whoosh stop words), BM25F k1={self.k1} b={self.b}, OrGroup parser"

    def index(self, corpus: list[dict]) -> None:
        from whoosh import index, scoring
        from whoosh.analysis import StemmingAnalyzer
        from whoosh.fields import ID, TEXT, Schema
        from whoosh.qparser import OrGroup, QueryParser
        schema = Schema(id=ID(unique=True, stored=True), body=TEXT(analyzer=StemmingAnalyzer()))
        self.ix = index.create_in(self.tmpdir, schema)
        with self.ix.writer(limitmb=256) as w:
            for d in corpus:
                w.add_document(id=d["_id"], body=_body(d))
        self.searcher = self.ix.searcher(weighting=scoring.BM25F(B=self.b, K1=self.k1))
        self.parser = QueryParser("body", schema, group=OrGroup)

    def search(self, text: str, k: int) -> list[str]:
        try:
            q = self.parser.parse(text)
        except Exception:  # Whoosh's parser rarely raises; quote each word if it does
            self.fallbacks += 1
            q = self.parser.parse(" ".join(f"'{w}'" for w in _WORD.findall(text)))
        return [hit["id"] for hit in self.searcher.search(q, limit=k)]

    def close(self) -> None:
        if getattr(self, "searcher", None) is not None:
            self.searcher.close()
        self.ix.close()
        super().close()


class SqliteFts5Engine(Engine):
    name, module, dist = "sqlite-fts5", "sqlite3", ""

    @property
    def label(self) -> str:
        import sqlite3
        return f"SQLite FTS5 {sqlite3.sqlite_version}"

    @property
    def settings(self) -> str:
        return "tokenize='porter unicode61', bm25() k1=1.2 b=0.75 fixed by SQLite, column weights (id 0, body 1)"

    def index(self, corpus: list[dict]) -> None:
        import sqlite3
        self.db = sqlite3.connect(f"{self.tmpdir}/index.db")
        self.db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, body, tokenize='porter unicode61')")
        with self.db:
            self.db.executemany("INSERT INTO docs(id, body) VALUES (?, ?)",
                                ((d["_id"], _body(d)) for d in corpus))
        self.db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
        self.db.commit()

    @staticmethod
    def escape(text: str) -> str:
        """Each word quoted as an FTS5 string and joined with OR, so FTS5 syntax never errors
        (FTS5's implicit operator is AND, which would turn BM25 ranking into a conjunctive filter)."""
        return " OR ".join('"' + w.replace('"', '""') + '"' for w in _WORD.findall(text))

    def search(self, text: str, k: int) -> list[str]:
        match = self.escape(text)
        if not match:
            return []
        rows = self.db.execute("SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0.0, 1.0) LIMIT ?",
                               (match, k))
        return [r[0] for r in rows]

    def close(self) -> None:
        self.db.close()
        super().close()


# Lucene's English stop set: the list bm25s uses for stopwords="en" (copied so rank_bm25 needs no bm25s).
ENGLISH_STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
    "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
    "will", "with"))


class Bm25sEngine(Engine):
    name, module, dist = "bm25s", "bm25s", "bm25s"

    @property
    def settings(self) -> str:
        return f"bm25s.tokenize (PyStemmer english, bm25s english stop words), method=lucene k1={self.k1} b={self.b}"

    def index(self, corpus: list[dict]) -> None:
        import bm25s
        import Stemmer
        self.bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        tokens = bm25s.tokenize([_body(d) for d in corpus], stopwords="en", stemmer=self.stemmer,
                                show_progress=False)
        self.retriever = bm25s.BM25(k1=self.k1, b=self.b)
        self.retriever.index(tokens, show_progress=False)
        self.ids = [d["_id"] for d in corpus]

    def search(self, text: str, k: int) -> list[str]:
        q = self.bm25s.tokenize([text], stopwords="en", stemmer=self.stemmer, return_ids=False,
                                show_progress=False)
        if not q[0]:
            return []
        docs, scores = self.retriever.retrieve(q, k=min(k, len(self.ids)), show_progress=False)
        # bm25s returns k documents even when fewer match; the rest have score 0.
        return [self.ids[i] for i, s in zip(docs[0].tolist(), scores[0].tolist()) if s > 0]


class RankBm25Engine(Engine):
    name, module, dist = "rank_bm25", "rank_bm25", "rank_bm25"

    @property
    def settings(self) -> str:
        return f"\\w+ lower-case tokens, Lucene/bm25s english stop words, nltk Porter, BM25Okapi k1={self.k1} b={self.b}"

    def _make_analyzer(self) -> Callable[[str], list[str]]:
        from nltk.stem import PorterStemmer
        stem, stop, cache = PorterStemmer().stem, ENGLISH_STOPWORDS, {}

        def analyze(text: str) -> list[str]:
            out = []
            for w in _WORD.findall(text.lower()):
                t = cache.get(w)
                if t is None:
                    t = cache[w] = "" if w in stop else stem(w)
                if t:
                    out.append(t)
            return out
        return analyze

    def index(self, corpus: list[dict]) -> None:
        import numpy as np
        from rank_bm25 import BM25Okapi
        self.np = np
        self.analyze = self._make_analyzer()
        self.bm25 = BM25Okapi([self.analyze(_body(d)) for d in corpus], k1=self.k1, b=self.b)
        self.ids = [d["_id"] for d in corpus]

    def search(self, text: str, k: int) -> list[str]:
        np = self.np
        scores = self.bm25.get_scores(self.analyze(text))
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [self.ids[i] for i in top.tolist() if scores[i] > 0]


ENGINES: dict[str, type[Engine]] = {e.name: e for e in (
    SearchlibEngine, TantivyEngine, SqliteFts5Engine, Bm25sEngine, WhooshEngine, RankBm25Engine)}


def make_engine(name: str, k1: float, b: float) -> Engine:
    """Instantiate an adapter after importing what it needs; ImportError if the engine is missing."""
    cls = ENGINES[name]
    needs: Iterable[str] = {"bm25s": ("bm25s", "Stemmer"), "rank_bm25": ("rank_bm25", "nltk", "numpy")}.get(
        name, (cls.module,))
    for mod in needs:
        importlib.import_module(mod)
    if name == "sqlite-fts5":
        import sqlite3
        con = sqlite3.connect(":memory:")
        try:
            con.execute("CREATE VIRTUAL TABLE t USING fts5(x)")
        except sqlite3.OperationalError as e:
            raise ImportError(f"this sqlite3 has no FTS5 ({e})") from None
        finally:
            con.close()
    if name == "searchlib":
        from searchlib import Index  # noqa: F401  (the package may exist before its Index does)
    return cls(k1=k1, b=b)
