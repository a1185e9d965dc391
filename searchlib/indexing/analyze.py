"""Turning the text fields of a batch of documents into term-id arrays, on one core or several.

Analysis dominates indexing. A FieldAnalysis keeps, for the life of a writer, a cache from each
raw word to a small local term id, so a token costs one dict lookup; a batch comes back as numpy
arrays plus the terms first seen in it. Large batches go to forked worker processes while the
writer goes on (see Analysis), each worker with its own FieldAnalysis (their local ids are mapped
to the segment's ids by the buffer); the processes hand each other the stems they compute. Worker
processes inherit the schema through fork; nothing but plain text, lists and numpy arrays crosses
the process boundary.

Memory stays bounded however many documents a writer sees: a FieldAnalysis that has numbered more
than WORD_CACHE_LIMIT words and terms starts a fresh numbering (a new epoch) after the batch that
crossed the limit. A batch names its numbering as `source` = (process id, epoch) and says whether
it is the numbering's `last`, so the buffer and `Analysis` treat a reset numbering as a new source
and forget the old one as soon as no batch can refer to it. A numbering holds at most the limit
plus the words of one batch (queued text of up to SegmentBuffer.DRAIN_CHARS plus one document).
"""
from __future__ import annotations

import multiprocessing
import os
import re
import sys
import threading
from array import array
from dataclasses import dataclass, field as dataclass_field
from itertools import islice

import numpy as np

from ..analysis.distinct import distinct_words
from ..analysis.spans import SpanFinder
from ..analysis.tokenizers import RegexTokenizer
from ..passages import split_passages, window_ranges
from ..schema import TEXT, Schema
from .lexicon import Lexicon


_START, _END, _GROUP = re.Match.start, re.Match.end, re.Match.group
# Words plus terms one FieldAnalysis numbers before it starts over (per field and process). An
# entry costs ~100 bytes (the string and its dict slot; measured), so a full numbering is ~100 MB.
# Read at every batch, so tests can lower it.
WORD_CACHE_LIMIT = 1_000_000
# Whole batches of the default tokenizer patterns are tokenized with numpy (analysis.spans,
# analysis.distinct). Off, they take the per-text regex paths: the tests compare the two.
BATCH_TOKENS = True

Source = tuple[int, int]  # (process id, epoch) of the numbering a batch's local ids belong to


@dataclass
class TextBatch:
    """The analysed texts of one field for a run of documents."""

    source: Source  # the numbering the ids belong to: (process id, epoch of its FieldAnalysis)
    first_term: int  # local id of new_terms[0]
    new_terms: list[str]  # terms first seen in this batch, in local id order
    ids: np.ndarray  # int32 local term id per token position, -1 where a word was dropped
    counts: np.ndarray  # uint32 token positions per unit
    owner: np.ndarray  # uint32 index (into the batch's texts) of each unit's document
    spans: np.ndarray | None  # int64 (units, 2) character spans, for fields split into passages
    offsets: np.ndarray | None = None  # uint32 (token positions, 2) character span of each, in its field's text
    field: str = ""
    last: bool = False  # the source starts a new numbering after this batch: no batch follows from it
    stems: list = dataclass_field(default_factory=list)  # stems a worker computed for it (Analyzer.logged_stems)


class _WordIds(dict):
    """Word -> local term id (-1: the analyzer drops it); a word not seen yet is numbered by
    `number` on its first look-up, so a look-up is one C-level dict access (map over words)."""

    def __init__(self, number):
        super().__init__()
        self.number = number

    def __missing__(self, word: str) -> int:
        wid = self[word] = self.number(word)
        return wid


class FieldAnalysis:
    """Analyses texts of one TEXT field into local term ids, remembering the words it has seen
    (up to WORD_CACHE_LIMIT words and terms; then it starts a new numbering, see `run`)."""

    def __init__(self, ft: TEXT):
        self.analyzer = ft.analyzer
        self.passages = ft.passages
        self.offsets = ft.offsets
        regex = getattr(ft.analyzer.tokenizer, "_re", None)
        # the fused analyzer's words come from this regex, and their positions are the match numbers
        self._finditer = regex.finditer if ft.analyzer.fused and type(ft.analyzer.tokenizer).__call__ is \
            RegexTokenizer.__call__ else None
        # spans of a whole batch at once, with numpy, for the tokenizer patterns it can prove
        self._spans = SpanFinder.for_pattern(getattr(ft.analyzer.tokenizer, "pattern", "")) if self._finditer is not None and \
            type(ft.analyzer.tokenizer).words is RegexTokenizer.words else None
        self.vocab: dict[str, int] = {}
        self.word_ids: dict[str, int] = _WordIds(self._number)
        self._reported = 0  # terms already returned in a batch
        self.epoch = 0  # how many times the numbering started over

    def _start_over_if_full(self) -> bool:
        """Forget every word and term when over the limit, so the next batch starts a new
        numbering; return whether it did."""
        if len(self.word_ids) + len(self.vocab) <= WORD_CACHE_LIMIT:
            return False
        self.vocab, self.word_ids = {}, _WordIds(self._number)
        self._reported = 0
        self.epoch += 1
        return True

    def _number(self, word: str) -> int:
        """The local id of a word met for the first time (its term's, numbered if new)."""
        term = self.analyzer.map_word(word)  # shares the analyzer's cache of stems (see map_word)
        return -1 if term is None else self.vocab.setdefault(term, len(self.vocab))

    def _ids(self, text: str) -> list[int]:
        if not self.analyzer.fused:  # a stream filter: no per-word cache, positions from the tokens
            vocab = self.vocab
            out: list[int] = []
            for tok in self.analyzer(text):
                out.extend([-1] * (tok.position + 1 - len(out)))
                out[tok.position] = vocab.setdefault(tok.term, len(vocab))
            return out
        return self._word_list_ids(self.analyzer.tokenizer.words(text))

    def _ids_offsets(self, text: str, starts: array, ends: array) -> list[int]:
        """`_ids(text)`, and the character span of each token position appended to `starts` and
        `ends` (a position whose word was dropped by a non-fused analyzer: the end of the one before)."""
        if self._finditer is not None:
            found = list(self._finditer(text))
            starts.extend(map(_START, found))
            ends.extend(map(_END, found))
            return self._word_list_ids(list(map(_GROUP, found)))
        if self.analyzer.fused:
            tokens = list(self.analyzer.tokenizer(text))
            starts.extend(t.start_char for t in tokens)
            ends.extend(t.end_char for t in tokens)
            return self._word_list_ids([t.term for t in tokens])
        vocab = self.vocab
        out: list[int] = []
        last = 0
        for tok in self.analyzer(text):
            while len(out) < tok.position:
                out.append(-1)
                starts.append(last)
                ends.append(last)
            if len(out) == tok.position:
                out.append(vocab.setdefault(tok.term, len(vocab)))
                starts.append(tok.start_char)
                ends.append(tok.end_char)
            else:  # a second token at one position (a synonym): the first one's span stays
                out[tok.position] = vocab.setdefault(tok.term, len(vocab))
            last = tok.end_char
        return out

    def _word_list_ids(self, words: list[str]) -> list[int]:
        """The local id of each word (-1: dropped): one C-level pass of dict look-ups; only words
        never seen before cost Python work (once each)."""
        return list(map(self.word_ids.__getitem__, words))

    def _whole_texts(self, texts: list[str]) -> tuple[array, array]:
        """(ids, counts) of texts that are units of their own, analysed by a fused analyzer without
        offsets: per text, one tokenizer call and one C-level pass of look-ups appended to a typed
        array (a text at a time: its words are freed while still in the processor's cache)."""
        words, look_up = self.analyzer.tokenizer.words, self.word_ids.__getitem__
        ids, counts = array("i"), array("I")
        for text in texts:
            found = words(text)
            ids.extend(map(look_up, found))
            counts.append(len(found))
        return ids, counts

    def _whole_batch(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(ids, counts, offsets) of texts that are units of their own, for the tokenizer patterns
        SpanFinder handles: the tokens of the whole batch with numpy (`SpanFinder.tokens`), a
        Python string and a look-up per distinct word only (`distinct_words`, in order of first
        occurrence, so new words are numbered as a token-by-token pass numbers them)."""
        tokens = self._spans.tokens(texts)
        words, which = distinct_words(tokens)
        ids = np.fromiter(map(self.word_ids.__getitem__, words), dtype=np.int32, count=len(words))[which]
        return ids, tokens.counts.astype(np.uint32), tokens.offsets()

    def run(self, texts: list[str]) -> TextBatch:
        """Analyse `texts` into one batch. Every id in it belongs to one numbering: resets happen
        only after a batch (one that ended over the limit), never in the middle of one, and that
        batch is marked `last`, so the buffer and `Analysis` can forget the numbering with it."""
        if self._spans is not None and BATCH_TOKENS and (self.passages is None or self.passages.mode != "window"):
            return self._token_batch(texts)  # the default analyzers, whole texts or paragraphs/sentences: fastest
        if self.passages is None and self.analyzer.fused and not self.offsets:  # other fused analyzers, fast
            ids, counts = self._whole_texts(texts)
            return self._batch(ids, counts, array("I", range(len(texts))), None, None)
        ids, counts, owner = array("i"), array("I"), array("I")
        spans = array("q") if self.passages is not None else None
        # with offsets: the character span of every token position (relative to the field's text;
        # a passage's tokens are read from its text and moved by its start, `base`)
        starts, ends, base = (array("I"), array("I"), array("q")) if self.offsets else (None, None, None)
        for i, text in enumerate(texts):
            if self.passages is None:
                unit = self._ids(text) if starts is None else self._ids_offsets(text, starts, ends)
                ids.extend(unit)
                counts.append(len(unit))
                owner.append(i)
                if base is not None:
                    base.append(0)
                continue
            if self.passages.mode == "window" and self.analyzer.fused:
                # one tokenization: windows are slices of the field's words (re-tokenizing each
                # window's text would see the overlapping words twice)
                tokens = list(self.analyzer.tokenizer(text))
                word_ids = self._word_list_ids([t.term for t in tokens])
                for a, b in window_ranges(len(tokens), self.passages.size, self.passages.overlap):
                    ids.extend(word_ids[a:b])
                    counts.append(b - a)
                    owner.append(i)
                    spans.extend((tokens[a].start_char, tokens[b - 1].end_char))
                    if starts is not None:
                        starts.extend(t.start_char for t in tokens[a:b])
                        ends.extend(t.end_char for t in tokens[a:b])
                        base.append(0)
                continue
            for a, b in split_passages(text, self.passages, self.analyzer):
                unit = self._ids(text[a:b]) if starts is None else self._ids_offsets(text[a:b], starts, ends)
                ids.extend(unit)
                counts.append(len(unit))
                owner.append(i)
                spans.extend((a, b))
                if base is not None:
                    base.append(a)
        offsets = None
        if starts is not None:
            offsets = np.stack([np.frombuffer(starts, dtype=np.uint32), np.frombuffer(ends, dtype=np.uint32)], axis=1)
            shift = np.frombuffer(base, dtype=np.int64)
            if shift.any():
                offsets += np.repeat(shift, np.frombuffer(counts, dtype=np.uint32)).astype(np.uint32)[:, None]
        return self._batch(ids, counts, owner, spans, offsets)

    def _token_batch(self, texts: list[str]) -> TextBatch:
        """`run` through `_whole_batch`: texts that are units of their own, or the passages of a
        field split into paragraphs or sentences (found in Python, a call per text) analysed
        together as one batch of texts, their offsets moved by where each passage starts."""
        if self.passages is None:
            ids, counts, offsets = self._whole_batch(texts)
            return self._batch(ids, counts, np.arange(len(texts), dtype=np.uint32), None,
                               offsets if self.offsets else None)
        pieces, owner, spans = [], array("I"), array("q")
        for i, text in enumerate(texts):
            for a, b in split_passages(text, self.passages, self.analyzer):
                pieces.append(text[a:b])
                owner.append(i)
                spans.extend((a, b))
        ids, counts, offsets = self._whole_batch(pieces)
        if self.offsets:
            starts = np.frombuffer(spans, dtype=np.int64)[0::2]
            offsets += np.repeat(starts, counts).astype(np.uint32)[:, None]
        return self._batch(ids, counts, owner, spans, offsets if self.offsets else None)

    def _batch(self, ids: "array | np.ndarray", counts: "array | np.ndarray", owner: "array | np.ndarray",
               spans: "array | None", offsets: "np.ndarray | None") -> TextBatch:
        terms = list(islice(self.vocab, self._reported, None)) if len(self.vocab) > self._reported else []
        first, self._reported = self._reported, len(self.vocab)
        batch = TextBatch((os.getpid(), self.epoch), first, terms, np.array(ids, dtype=np.int32),
                          np.array(counts, dtype=np.uint32), np.array(owner, dtype=np.uint32),
                          np.array(spans, dtype=np.int64).reshape(-1, 2) if spans is not None else None,
                          offsets)
        batch.last = self._start_over_if_full()  # free the words now, not at the next batch
        return batch


# -- worker processes -----------------------------------------------------------------------------
_SCHEMAS: dict[int, Schema] = {}  # set in the parent before forking; read by the workers
_WORKER_STATE: dict[tuple[int, str], FieldAnalysis] = {}


def _analyze_in_worker(token: int, name: str, texts: list[str], stems: list) -> TextBatch:
    """A batch analysed in a worker process, knowing the `stems` the writer's process computed
    since its previous task, and returning those this process computed."""
    key = (token, name)
    if key not in _WORKER_STATE:
        _WORKER_STATE[key] = FieldAnalysis(_SCHEMAS[token].fields[name])
        _WORKER_STATE[key].analyzer.log_stems()
    analyzer = _WORKER_STATE[key].analyzer
    analyzer.learn_stems(stems)
    batch = _WORKER_STATE[key].run(texts)
    batch.stems = analyzer.logged_stems()
    return batch


def default_workers() -> int:
    """Processes to analyse with: the CPUs this process may use, at most 4."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


class _Done:
    """A batch analysed in this process, behind the interface of a worker's pending result."""

    def __init__(self, batch: TextBatch):
        self.batch = batch

    def ready(self) -> bool:
        return True

    def get(self) -> TextBatch:
        return self.batch


class Analysis:
    """The text analysis of one writer: its own FieldAnalysis per field, plus worker processes
    for large batches when more than one core is available and forking is safe.

    A pipeline, not batch-then-wait: `submit` hands a large batch to an idle worker process and
    returns at once, so the writer validates, stores and flushes documents while workers analyse;
    when every worker is busy the batch is analysed here instead (this process would otherwise
    wait), so `workers` processes in all, this one included, stay busy. Results are taken back in
    submission order (`collect`), which keeps each numbering's batches in the order they were made.
    """

    MIN_PARALLEL_CHARS = 2_000_000  # below this a batch is analysed in this process only

    def __init__(self, schema: Schema, workers: int | None = None):
        self.schema = schema
        self.local = {n: FieldAnalysis(ft) for n, ft in schema.items() if isinstance(ft, TEXT)}
        # the writer's terms per field, numbered across numberings and flushes (the buffer maps
        # each batch's local ids through it, and a flush orders its terms by it)
        self.lexicons = {n: Lexicon() for n in self.local}
        self.workers = default_workers() if workers is None else max(1, int(workers))
        self._pool = None
        self._token = id(self)
        self._terms: dict[tuple[Source, str], list[str]] = {}  # (source, field) -> its terms by local id
        self._in_flight: list = []  # results of batches handed to workers, not yet known to be done

    def _can_fork(self) -> bool:
        if self._pool is not None:
            return True
        # Forking a process that runs other threads can deadlock the child: only fork from a
        # single-threaded process (the pool's own helper threads start after the fork).
        return (self.workers > 1 and sys.platform.startswith("linux") and threading.active_count() == 1
                and "fork" in multiprocessing.get_all_start_methods())

    def _get_pool(self):
        if self._pool is None:
            _SCHEMAS[self._token] = self.schema
            self._pool = multiprocessing.get_context("fork").Pool(self.workers - 1)
            for fa in self.local.values():  # from now on, stems are shared with the workers
                fa.analyzer.log_stems()
        return self._pool

    def _idle_worker(self) -> bool:
        self._in_flight = [r for r in self._in_flight if not r.ready()]
        return len(self._in_flight) < self.workers - 1

    def submit(self, field: str, texts: list[str], chars: int):
        """Start analysing `texts` (one batch); return its pending result for `collect`. The list
        must not be changed afterwards (a worker process may not have received it yet)."""
        if chars >= self.MIN_PARALLEL_CHARS and self._can_fork() and self._idle_worker():
            pool = self._get_pool()
            stems = self.local[field].analyzer.logged_stems()
            result = pool.apply_async(_analyze_in_worker, (self._token, field, texts, stems))
            self._in_flight.append(result)
            return result
        return _Done(self.local[field].run(texts))

    def collect(self, field: str, pending) -> TextBatch:
        """The batch of a pending result of `submit` (waiting for it if need be). Call it once per
        submitted batch, in submission order."""
        batch = pending.get()
        if batch.stems:
            self.local[field].analyzer.learn_stems(batch.stems)
            batch.stems = []
        return self._record(field, [batch])[0]

    def _record(self, field: str, batches: list[TextBatch]) -> list[TextBatch]:
        # A numbering's terms are forgotten with its `last` batch (terms_of): every numbering ends
        # with such a batch, so nothing older needs sweeping here.
        for batch in batches:
            terms = self._terms.setdefault((batch.source, field), [])
            if batch.first_term != len(terms):
                raise RuntimeError(f"analysis worker {batch.source} returned terms out of order")
            terms.extend(batch.new_terms)
            batch.field = field
        return batches

    def terms_of(self, batch: TextBatch) -> list[str]:
        """Every term the batch's source has numbered so far, by local id. Call it once per batch,
        in order: after the `last` batch of a source its terms are forgotten."""
        key = (batch.source, batch.field)
        return self._terms.pop(key) if batch.last else self._terms[key]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
            for fa in self.local.values():
                fa.analyzer.log_stems(False)
        self._in_flight = []
        _SCHEMAS.pop(self._token, None)
