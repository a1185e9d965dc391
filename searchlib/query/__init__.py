"""The query language: query objects (ast), the parser, dictionary expansion, and per-segment execution."""
