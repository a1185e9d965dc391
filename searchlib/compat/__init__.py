"""Bridges from other search libraries: turning their indexes into searchlib indexes (see `compat.whoosh`)."""
