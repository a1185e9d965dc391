"""The on-disk index format: the components of a segment and their names, segments, stored fields,
word-pair postings, commit manifests, the writer lock, file primitives and integrity checks.
Writing it is the indexing chain's job (searchlib.indexing), which imports from here."""
