"""Per-day mention counts (entity_day_sentiment, _source, _comention), moved in step with entity_mentions."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yuqing.db.models import Base, EntityDayCoMention, EntityDaySentiment, EntityDaySource, EntityMentionRow

MentionKey = tuple[str, str, date | None, str, str | None, str | None]  # doc, entity, day, sentiment, source, story


def mention_keys(session: Session, doc_ids: Sequence[str]) -> list[MentionKey]:
    """What the documents' current mentions contribute to the rollups (read before changing them)."""
    m = EntityMentionRow
    rows = session.execute(
        select(m.doc_id, m.entity_id, m.published_date, m.sentiment, m.source, m.story_id).where(
            m.doc_id.in_(list(doc_ids))
        )
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def add_mentions(session: Session, keys: Iterable[MentionKey], delta: int) -> None:
    """Add `delta` (+1 or -1) per mention to its day's counts."""
    mentions: Counter[tuple[str, date, str]] = Counter()
    originals: Counter[tuple[str, date, str]] = Counter()  # mentions in the document that opens its story
    by_source: Counter[tuple[str, date, str]] = Counter()
    by_neighbour: Counter[tuple[str, date, str]] = Counter()
    per_document: dict[tuple[str, date], list[str]] = defaultdict(list)
    for doc_id, entity_id, day, sentiment, source, story_id in keys:
        if day is None:
            continue
        mentions[(entity_id, day, sentiment)] += delta
        originals[(entity_id, day, sentiment)] += delta if doc_id == story_id else 0
        by_source[(entity_id, day, source or "")] += delta
        per_document[(doc_id, day)].append(entity_id)
    for (_, day), entities in per_document.items():
        for entity_id in entities:
            for other_id in entities:
                if other_id != entity_id:
                    by_neighbour[(entity_id, day, other_id)] += delta
    _increment(
        session,
        EntityDaySentiment,
        [
            {"entity_id": e, "day": d, "sentiment": s, "mentions": n, "originals": originals[(e, d, s)]}
            for (e, d, s), n in sorted(mentions.items())
        ],
        ["entity_id", "day", "sentiment"],
    )
    _increment(
        session,
        EntityDaySource,
        [{"entity_id": e, "day": d, "source": s, "mentions": n} for (e, d, s), n in sorted(by_source.items())],
        ["entity_id", "day", "source"],
    )
    _increment(
        session,
        EntityDayCoMention,
        [{"entity_id": e, "day": d, "other_id": o, "mentions": n} for (e, d, o), n in sorted(by_neighbour.items())],
        ["entity_id", "day", "other_id"],
    )


def _increment(session: Session, model: type[Base], rows: list[dict[str, Any]], keys: list[str]) -> None:
    rows = [r for r in rows if any(v for k, v in r.items() if k not in keys)]
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = model.__table__
    for start in range(0, len(rows), 500):
        stmt = insert(model).values(rows[start : start + 500])
        added = {c: table.c[c] + stmt.excluded[c] for c in rows[0] if c not in keys}
        session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=added))
