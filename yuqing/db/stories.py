"""Stories (near-duplicate clusters) materialised from documents.story_id.

Listing stories must not group a million documents per request, so each write that changes a member
(cleaning assigns story ids, analysis sets sentiment) refreshes the few stories it touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from yuqing.db.models import Document, StoryRow

_CHUNK = 500


def _story_row(story_id: str, members: list[Any]) -> dict[str, Any]:
    members.sort(key=lambda r: (r.published_at or r.crawled_at, r.id))
    # The story is named by its canonical member (the earliest published); fall back to the earliest we have.
    first = next((m for m in members if m.id == story_id), members[0])
    sentiments = [m.sentiment for m in members]
    return {
        "id": story_id,
        "title": first.title,
        "first_source": first.source,
        "first_published_at": first.published_at,
        "last_published_at": max(m.published_at or m.crawled_at for m in members),
        "documents": len(members),
        "outlets": sorted({m.source for m in members}),
        "positive": sentiments.count("positive"),
        "negative": sentiments.count("negative"),
        "neutral": sentiments.count("neutral"),
    }


def refresh_stories(session: Session, story_ids: Iterable[str]) -> int:
    """Recompute the given stories from their member documents; stories left without members are removed."""
    wanted = sorted(set(story_ids))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        members: dict[str, list[Any]] = {}
        columns = (
            Document.id,
            Document.story_id,
            Document.title,
            Document.source,
            Document.published_at,
            Document.crawled_at,
            Document.sentiment,
        )
        for row in session.execute(select(*columns).where(Document.story_id.in_(chunk))):
            members.setdefault(row.story_id, []).append(row)
        rows = [_story_row(story_id, group) for story_id, group in members.items()]
        if rows:
            stmt = insert(StoryRow).values(rows)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=["id"], set_={c: stmt.excluded[c] for c in rows[0] if c != "id"}
                )
            )
        gone = set(chunk) - set(members)
        if gone:
            session.execute(delete(StoryRow).where(StoryRow.id.in_(gone)))
    return len(wanted)


def refresh_all_stories(session: Session) -> int:
    """Rebuild every story (after bulk loads that bypass the repository)."""
    story_ids = list(session.scalars(select(Document.story_id).distinct()))
    session.execute(delete(StoryRow))
    return refresh_stories(session, story_ids)
