"""Printing result tables, aligned for a terminal or as markdown for the READMEs."""
from __future__ import annotations


def print_aligned(header: list[str], rows: list[list[str]]) -> None:
    """The first column left-aligned, the others right-aligned, under a dashed rule."""
    widths = [max(len(c) for c in col) for col in zip(header, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    print(line(header))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def print_markdown(header: list[str], rows: list[list[str]]) -> None:
    """A markdown table, numeric columns (all but the first) right-aligned."""
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
