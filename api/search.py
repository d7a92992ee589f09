"""Full-text search that works for Chinese, without word segmentation.

SQLite: the FTS5 trigram table ``documents_fts`` (bm25 ranking). PostgreSQL: ILIKE over
``title || ' ' || text``, served by the pg_trgm GIN index (relevance: hits in the title first).
Both index character trigrams, so a term of 3+ characters is an index lookup; 1-2 character
terms (common in Chinese: 召回, 华为) fall back to a substring scan, which is exact but not
indexed: fine on a laptop's SQLite, and on PostgreSQL best combined with other filters.
Terms are NFKC-normalised like the stored text (cleaning does the same), and all must match.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, Subquery, and_, case, func, literal, literal_column, or_, select, text
from sqlalchemy.sql.elements import ColumnElement as Column

from yuqing.db.models import Document

INDEXED_TERM_CHARS = 3
MAX_TERMS = 8


@dataclass(frozen=True)
class SearchFilter:
    where: ColumnElement[bool] | None
    relevance: Column  # higher is better  # type: ignore[type-arg]
    hits: Subquery | None = None  # join documents to this on documents.rowid == hits.c.rowid (SQLite FTS5)

    def apply(self, query: Select) -> Select:  # type: ignore[type-arg]
        if self.hits is not None:
            query = query.join(self.hits, literal_column("documents.rowid") == self.hits.c.rowid)
        if self.where is not None:
            query = query.where(self.where)
        return query


def search_terms(query: str) -> list[str]:
    terms = [t for t in unicodedata.normalize("NFKC", query).split() if t][:MAX_TERMS]
    return list(dict.fromkeys(terms))


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _fts5_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def search_filter(dialect: str, query: str) -> SearchFilter | None:
    terms = search_terms(query)
    if not terms:
        return None
    if dialect == "sqlite":
        return _sqlite(terms)
    return _postgresql(terms)


def _sqlite(terms: list[str]) -> SearchFilter:
    long_terms = [t for t in terms if len(t) >= INDEXED_TERM_CHARS]
    short_terms = [t for t in terms if len(t) < INDEXED_TERM_CHARS]
    short_conditions = [
        or_(
            Document.title.like(f"%{_like_escape(t)}%", escape="\\"),
            Document.text.like(f"%{_like_escape(t)}%", escape="\\"),
        )
        for t in short_terms
    ]
    where = and_(*short_conditions) if short_conditions else None
    if long_terms:
        match = " AND ".join(_fts5_phrase(t) for t in long_terms)
        hits = (
            select(literal_column("rowid").label("rowid"), literal_column("-bm25(documents_fts)").label("score"))
            .select_from(text("documents_fts"))
            .where(text("documents_fts MATCH :fts_match").bindparams(fts_match=match))
            .subquery("search_hits")
        )
        return SearchFilter(where=where, relevance=hits.c.score, hits=hits)
    relevance = case(*[(Document.title.like(f"%{_like_escape(t)}%", escape="\\"), 1.0) for t in short_terms], else_=0.0)
    return SearchFilter(where=where, relevance=relevance)


def _is_caseless(term: str) -> bool:
    return term.lower() == term.upper()  # Chinese, digits, punctuation


def _contains(column: ColumnElement[str], term: str) -> ColumnElement[bool]:
    """Term inside column. 3+ characters: LIKE/ILIKE, which the trigram index serves (LIKE, several times cheaper
    to recheck, when case cannot matter). Shorter: strpos, which the index cannot serve; on purpose, since
    pg_trgm answers a pattern without trigrams by returning every row for a recheck."""
    if len(term) < INDEXED_TERM_CHARS:
        if _is_caseless(term):
            return func.strpos(column, term) > 0
        return func.strpos(func.lower(column), term.lower()) > 0
    pattern = f"%{_like_escape(term)}%"
    return column.like(pattern, escape="\\") if _is_caseless(term) else column.ilike(pattern, escape="\\")


def _postgresql(terms: list[str]) -> SearchFilter:
    searchable = Document.title + literal(" ") + Document.text  # the expression of ix_documents_search_trgm
    in_title = [case((_contains(Document.title, t), 1.0), else_=0.0) for t in terms]
    relevance = in_title[0]
    for extra in in_title[1:]:
        relevance = relevance + extra
    return SearchFilter(where=and_(*[_contains(searchable, t) for t in terms]), relevance=relevance)


def snippet(text_: str, terms: list[str], width: int = 160) -> str:
    """The text around the first hit (or its start), so a result shows why it matched."""
    folded = text_.casefold()
    positions = [p for p in (folded.find(t.casefold()) for t in terms) if p >= 0]
    if not positions:
        return text_[:width]
    start = max(0, min(positions) - width // 4)
    return ("…" if start else "") + text_[start : start + width]
