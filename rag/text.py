"""Small text helpers shared by the index, the answerers and the evaluation.

Tokenising the same way for BM25, sentence scoring and the groundedness
check keeps the three consistent: a sentence counts as supported by a
chunk for the same reasons it was retrieved.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[a-z0-9_]+(?:[+/][a-z0-9]*)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[^\s])")
_ABBREVIATION = re.compile(
    r"(?:\b(?i:e\.g|i\.e|vs|etc|approx|no|cf|st|jr|sr)\.|\b[A-Z]\.)$"
)
_SLUG_DROP = re.compile(r"[^a-z0-9]+")

_STOPWORD_TEXT = """
a about above after again all also am an and any are as at be because been
before being below between both but by can could did do does doing down
during each few for from further had has have having he her here hers him
his how i if in into is it its itself just me more most my no nor not now of
off on once only or other our out over own same she should so some such than
that the their them then there these they this those through to too under
until up very was we were what when where which while who whom why will with
would you your yours tell me please explain describe mean means meant define
defined much many calculate calculated compute computed happen happens
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def slugify(text: str) -> str:
    """A lowercase, dash-separated form of a heading, stable across runs."""
    slug = _SLUG_DROP.sub("-", text.lower()).strip("-")
    return slug or "section"


def _stem(token: str) -> str:
    # Plural and simple verb endings only: enough for "salaries"/"salary"
    # and "seasons"/"season" to meet, without a stemming dependency.
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    if len(token) > 5 and token.endswith("ed") and token[-3] != "e":
        return token[:-2]
    return token


def tokens(text: str) -> list[str]:
    """Content tokens of ``text``: lowercased, stopwords dropped, stemmed.

    A snake_case name such as ``fct_batting_seasons`` yields itself and its
    parts, so the exact model or column name outranks chunks that merely
    share its words.
    """
    out: list[str] = []
    for found in _TOKEN.findall(text.lower()):
        word = found.strip("_")
        if not word or word in STOPWORDS:
            continue
        if "_" in word:
            out.append(word)
            out.extend(_stem(p) for p in word.split("_") if p and p not in STOPWORDS)
        else:
            out.append(_stem(word))
    return out


def _split_prose(flat: str) -> list[str]:
    parts: list[str] = []
    for piece in _SENTENCE_END.split(flat):
        if parts and _ABBREVIATION.search(parts[-1]):
            parts[-1] = f"{parts[-1]} {piece}"
        else:
            parts.append(piece)
    return [p.strip() for p in parts if p.strip()]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_rule(cells: list[str]) -> bool:
    return all(set(c) <= set("-: ") for c in cells)


def _table_rows(lines: list[str]) -> list[str]:
    """One sentence per table row, each cell named by its column header, so
    a row read alone still says what it is about."""
    rows = [_cells(line) for line in lines]
    header: list[str] = []
    if len(rows) > 1 and _is_rule(rows[1]):
        header, rows = rows[0], rows[2:]
    out = []
    for cells in rows:
        if _is_rule(cells) or not any(cells):
            continue
        if len(header) == len(cells):
            out.append(
                "; ".join(f"{h}: {c}" for h, c in zip(header, cells, strict=True) if c)
            )
        else:
            out.append(": ".join(c for c in cells if c))
    return out


def sentences(text: str) -> list[str]:
    """Split prose into sentences; list items and table rows stay whole."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*(?:[-*]|\d+\.)\s)", text):
        lines = [line for line in block.splitlines() if line.strip()]
        if lines and all(line.lstrip().startswith("|") for line in lines):
            out.extend(_table_rows(lines))
            continue
        flat = " ".join(block.split())
        if flat:
            out.extend(_split_prose(flat))
    return out
