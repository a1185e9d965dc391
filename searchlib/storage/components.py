"""The files of an index, each named once: the segment components and the index directory's layout.

Writing, reading, merging and `check` all take a file's name from this table, as tantivy takes
them from its `SegmentComponent`, so the format's names are spelled in one place and a file's
name, its scope and how it is decoded cannot drift apart between the code that writes it and the
code that reads or checks it.

An index directory holds its manifests (manifest.py), the writer lock (lock.py) and SEGMENTS_DIR,
in which each segment is a directory named segment_name(number). A segment's files are:
  per indexed field `f` (Scope.FIELD): the term dictionary (termdict.py), postings, positions,
    unit lengths and passages, and the optional pair postings (pairs.py); per KEYWORD or ID
    field, its terms per document (the postings inverted, for facets and collapse); per NUMERIC
    or DATETIME field `f`, its column;
  per segment (Scope.SEGMENT): meta.json and the stored fields (stored.py);
  per commit that changed its deletions (Scope.COMMIT): the deletions bitset of that generation.
"""
from __future__ import annotations

from enum import Enum

SEGMENTS_DIR = "segments"  # the directory of an index that holds its segment directories


def segment_name(number: int) -> str:
    """The directory name of the segment a writer numbers `number` (from the manifest's counter)."""
    return f"seg-{number:08d}"


def segment_number(name: str) -> int | None:
    """The number a segment's directory name ends with (after its last "-"), or None."""
    number = name.rpartition("-")[2]
    return int(number) if number.isascii() and number.isdigit() else None


class Kind(Enum):
    """How a component's bytes are written and decoded."""

    ARRAY = "array"    # a .npy array: files.write_array, files.load_array (memory-mapped, pickling refused)
    TEXT = "text"      # UTF-8 text, memory-mapped (termdict.TermDictionary)
    JSON = "json"      # a small JSON object, read whole (segment.read_meta)
    STORED = "stored"  # zstd-compressed blocks of JSON documents (zlib up to format 6; stored.StoredReader)


class Scope(Enum):
    """Which part of a segment a component belongs to: its file name holds the field's name, the
    commit's generation, or neither."""

    FIELD = "field"
    SEGMENT = "segment"
    COMMIT = "commit"


class Component(Enum):
    """A file of a segment: its name pattern (with `{field}` or `{generation}` for the part that
    varies), its kind and what it holds (T terms, P postings, U units: documents, or passages of a
    split field; K word pairs, Q pair postings)."""

    LEX = ("{field}.lex.txt", Kind.TEXT,
           "the terms in code-point order, each followed by a newline; a term's id is its rank here")
    LEXOFF = "{field}.lexoff.npy", Kind.ARRAY, "int64[T+1] byte offset of each term in the term list (and of its end)"
    LEXKEY = ("{field}.lexkey.npy", Kind.ARRAY,
              "uint64[T] each term's first 8 bytes (zero-padded) as a big-endian number, non-decreasing")
    PTR = ("{field}.ptr.npy", Kind.ARRAY,
           "int32 (below 2**31 postings) or int64[T+1] postings of term t are [ptr[t], ptr[t+1])")
    UNIT = "{field}.unit.npy", Kind.ARRAY, "uint32[P] the unit of each posting, ascending within a term"
    TF = ("{field}.tf.npy", Kind.ARRAY,
          "uint8, uint16 or uint32[P] term frequency in that unit (the narrowest type that holds them)")
    PPTR = ("{field}.pptr.npy", Kind.ARRAY,
            "int32 (below 2**31 positions) or int64[T+1] positions of term t start at pptr[t]; in posting order")
    POS = "{field}.pos.npy", Kind.ARRAY, "uint8, uint16 or uint32[sum tf] the positions (the narrowest type)"
    LEN = "{field}.len.npy", Kind.ARRAY, "uint32[U] tokens per unit (TEXT)"
    UDOC = "{field}.udoc.npy", Kind.ARRAY, "uint32[U] document of each passage (split TEXT)"
    USPAN = "{field}.uspan.npy", Kind.ARRAY, "int64[U,2] character span of each passage in the field (split TEXT)"
    OFFS = ("{field}.offs.npy", Kind.ARRAY,
            "uint8[N] each token position's gap from the position before and length, in one byte (spans.py), or "
            "uint32[N,2] its character span in the field's stored text; unit by unit (TEXT with offsets)")
    OFFX = ("{field}.offx.npy", Kind.ARRAY,
            "int64[3,E] the positions whose uint8 code is escaped (ascending), their gaps and lengths (spans.py)")
    OFFK = ("{field}.offk.npy", Kind.ARRAY,
            "uint32[ceil(N/32)] the start of every 32nd token position of the uint8 codes (spans.py checkpoints)")
    OPTR = ("{field}.optr.npy", Kind.ARRAY,
            "int32 (below 2**31 positions) or int64[U+1] the token positions of unit u are offs[optr[u]:optr[u+1]]")
    BLOCKPTR = ("{field}.blockptr.npy", Kind.ARRAY,
                "int64[T+1] the posting blocks of term t are [blockptr[t], blockptr[t+1]) (TEXT; blocks.py)")
    BLOCKMAX = ("{field}.blockmax.npy", Kind.ARRAY,
                "uint32[B,2] each block's largest term frequency and smallest unit length (TEXT; blocks.py)")
    PAIRKEY = "{field}.pairkey.npy", Kind.ARRAY, "uint64[K] the distinct pair keys, ascending"
    PAIRPTR = "{field}.pairptr.npy", Kind.ARRAY, "int64[K+1] postings of pair k are [pairptr[k], pairptr[k+1])"
    PAIRUNIT = "{field}.pairunit.npy", Kind.ARRAY, "uint32[Q] the unit of each pair posting, ascending within a pair"
    PAIRTF = "{field}.pairtf.npy", Kind.ARRAY, "uint32[Q] how often the pair occurs in that unit"
    DOCPTR = ("{field}.docptr.npy", Kind.ARRAY,
              "int32 (below 2**31 postings) or int64[D+1] the terms of document d are docterm[docptr[d]:docptr[d+1]] "
              "(KEYWORD, ID; absent when every document has exactly one term: document d's is docterm[d])")
    DOCTERM = ("{field}.docterm.npy", Kind.ARRAY,
               "uint8, uint16 or uint32[P] each document's term ids, ascending (the narrowest type that holds them; "
               "KEYWORD, ID)")
    COLUMN = ("{field}.col.npy", Kind.ARRAY,
              "a value per document: NUMERIC float64 (NaN: missing), DATETIME int64 (MISSING_TIME: missing)")
    META = "meta.json", Kind.JSON, "the document count and each field's counts"
    STORED = "stored.bin", Kind.STORED, "the stored fields, in compressed blocks of documents"
    STORED_PTR = "stored.ptr.npy", Kind.ARRAY, "int64[blocks+1] byte offset of each stored block (and of the end)"
    STORED_DOCS = ("stored.docs.npy", Kind.ARRAY,
                   "int64[blocks+1] first document of each stored block (and the document count); before format "
                   "searchlib-7 absent, every block but the last holding BLOCK_DOCS documents")
    DELETES = ("del-{generation:010d}.npy", Kind.ARRAY,
               "uint8[ceil(doc_count / 8)] packed bits of the deleted documents (np.packbits order)")

    def __init__(self, pattern: str, kind: Kind, about: str):
        self.pattern = pattern
        self.kind = kind
        self.about = about
        self.scope = (Scope.FIELD if "{field}" in pattern else Scope.COMMIT if "{generation" in pattern
                      else Scope.SEGMENT)

    def file(self, field: str | None = None, *, generation: int | None = None) -> str:
        """The file name: of field `field` (Scope.FIELD), of commit `generation` (Scope.COMMIT)."""
        if self.scope is Scope.FIELD:
            if field is None:
                raise TypeError(f"{self.name} is a file per field: name the field")
            return self.pattern.format(field=field)
        if self.scope is Scope.COMMIT:
            if generation is None:
                raise TypeError(f"{self.name} is a file per commit: give the generation")
            return self.pattern.format(generation=generation)
        return self.pattern

    @property
    def suffix(self) -> str:
        """What follows the field's name and a dot in a per-field file name, without the extension
        of an array file: `ptr` for `f.ptr.npy`, `lex.txt` for `f.lex.txt`."""
        tail = self.pattern.removeprefix("{field}.")
        return tail.removesuffix(".npy") if self.kind is Kind.ARRAY else tail

    def field_of(self, fname: str) -> str | None:
        """The field whose file of this component `fname` is; None if it is no such file."""
        tail = self.pattern.removeprefix("{field}")
        if self.scope is not Scope.FIELD or not fname.endswith(tail) or len(fname) == len(tail):
            return None
        return fname[:-len(tail)]
