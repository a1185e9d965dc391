"""Temporary: search.py still imports SEGMENTS_DIR from this module, which held the index writer
before it moved to searchlib/indexing/writer.py. SEGMENTS_DIR belongs to the on-disk format and
lives in storage/components.py; this module goes when search.py imports it from there.
"""
from .components import SEGMENTS_DIR

__all__ = ["SEGMENTS_DIR"]
