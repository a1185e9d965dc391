"""The indexing chain: the writer, its buffer of analysed documents, parallel analysis and merges.

It turns documents into segments and commits in the on-disk format of searchlib.storage, which it
imports; nothing in storage/ imports from here, so the format can be read (searched, checked)
without the code that writes it.
"""
