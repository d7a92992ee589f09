"""The analyst's daily report: headline numbers, change vs the previous day, negative stories with evidence."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from api.entity_stats import mention_day_extremes
from api.queries import day_start
from api.schemas import DailyReport, EntityDay, EvidenceQuote, Headline, NegativeStory, NewEntity, ReportRow
from yuqing.db.models import AnalysisRow, Document, EntityDaySentiment, EntityMentionRow, StoryRow
from yuqing.settings import WatchEntity

M = EntityMentionRow
DS = EntityDaySentiment
TOP_STORIES = 5
QUOTES_PER_STORY = 3
MAX_ROWS = 10_000


def change(now: int, before: int) -> float | None:
    """Relative change (0.5 = +50 %); None when there is nothing to compare with."""
    return round((now - before) / before, 4) if before else None


def _day_counts(session: Session, entity_ids: list[str], day: date) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    rows = session.execute(
        select(DS.entity_id, DS.sentiment, DS.mentions).where(DS.entity_id.in_(entity_ids), DS.day == day)
    )
    for entity_id, sentiment, n in rows:
        counts[entity_id][sentiment] += n
    return counts


def _documents_on(day: date, entity_ids: list[str] | None):  # type: ignore[no-untyped-def]
    query = select(Document).where(
        Document.published_at >= day_start(day), Document.published_at < day_start(day + timedelta(days=1))
    )
    if entity_ids is not None:
        query = query.where(
            Document.id.in_(select(M.doc_id).where(M.entity_id.in_(entity_ids), M.published_date == day))
        )
    return query


def _count(session: Session, query) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def build_daily_report(session: Session, entities: list[WatchEntity], day: date, *, restricted: bool) -> DailyReport:
    """`restricted`: the caller named entities, so document counts cover only documents that mention them."""
    previous = day - timedelta(days=1)
    ids = [e.id for e in entities]
    scope = ids if restricted else None
    today, yesterday = _day_counts(session, ids, day), _day_counts(session, ids, previous)

    by_entity = []
    for entity in entities:
        now, before = today[entity.id], yesterday[entity.id]
        mentions, previous_mentions = sum(now.values()), sum(before.values())
        by_entity.append(
            EntityDay(
                entity_id=entity.id,
                name=entity.name,
                mentions=mentions,
                negative=now["negative"],
                positive=now["positive"],
                neutral=now["neutral"],
                negative_share=round(now["negative"] / mentions, 4) if mentions else 0.0,
                previous_mentions=previous_mentions,
                previous_negative=before["negative"],
                mentions_change=change(mentions, previous_mentions),
                negative_change=change(now["negative"], before["negative"]),
            )
        )
    by_entity.sort(key=lambda e: (-e.negative, -e.mentions, e.entity_id))

    documents_today = _count(session, _documents_on(day, scope))
    documents_before = _count(session, _documents_on(previous, scope))
    high_risk = _count(session, _documents_on(day, scope).where(Document.risk == "high"))
    mentions = sum(e.mentions for e in by_entity)
    negative = sum(e.negative for e in by_entity)
    headline = Headline(
        documents=documents_today,
        mentions=mentions,
        negative=negative,
        negative_share=round(negative / mentions, 4) if mentions else 0.0,
        high_risk=high_risk,
        documents_change=change(documents_today, documents_before),
        negative_change=change(negative, sum(e.previous_negative for e in by_entity)),
    )

    first_seen = mention_day_extremes(session, ids, newest=False)
    new_entities = [
        NewEntity(entity_id=e.id, name=e.name, mentions=sum(today[e.id].values()))
        for e in entities
        if first_seen.get(e.id) == day
    ]
    return DailyReport(
        date=day,
        previous_date=previous,
        entities=ids,
        headline=headline,
        by_entity=by_entity,
        top_negative_stories=_negative_stories(session, ids, day),
        new_entities=new_entities,
        generated_at=datetime.now(UTC),
    )


def _negative_stories(session: Session, entity_ids: list[str], day: date) -> list[NegativeStory]:
    """The day's negative stories about the entities: riskiest first, then most reprinted (ranked in SQL)."""
    negative = [M.entity_id.in_(entity_ids), M.published_date == day, M.sentiment == "negative"]
    risk = func.max(case((Document.risk == "high", 2), (Document.risk == "medium", 1), else_=0))
    size = func.coalesce(func.max(StoryRow.documents), 0)
    ranked = (
        session.execute(
            select(Document.story_id)
            .select_from(M)
            .join(Document, Document.id == M.doc_id)
            .outerjoin(StoryRow, StoryRow.id == Document.story_id)
            .where(*negative)
            .group_by(Document.story_id)
            .order_by(risk.desc(), size.desc(), func.count().desc(), Document.story_id)
            .limit(TOP_STORIES)
        )
        .scalars()
        .all()
    )
    if not ranked:
        return []
    rows = session.execute(
        select(M.doc_id, M.entity_id, Document.story_id, Document.risk, Document.analysis_id)
        .join(Document, Document.id == M.doc_id)
        .where(*negative, Document.story_id.in_(ranked))
        .order_by(M.doc_id, M.entity_id)
    ).all()
    by_story: dict[str, list] = defaultdict(list)  # type: ignore[type-arg]
    for row in rows:
        by_story[row.story_id].append(row)
    stories = {s.id: s for s in session.scalars(select(StoryRow).where(StoryRow.id.in_(ranked)))}
    risk_rank = {"high": 2, "medium": 1}

    result = []
    for story_id in ranked:
        rows = by_story[story_id]
        chosen = next((r for r in rows if r.doc_id == story_id), rows[0])  # prefer the original's evidence
        analysis = session.get(AnalysisRow, chosen.analysis_id) if chosen.analysis_id else None
        quotes = _negative_quotes(analysis.payload if analysis else {}, {r.entity_id for r in rows})
        story = stories.get(story_id)
        result.append(
            NegativeStory(
                story_id=story_id,
                title=story.title if story else "",
                first_source=story.first_source if story else "",
                documents=story.documents if story else len({r.doc_id for r in rows}),
                outlets=list(story.outlets) if story else [],
                entities=sorted({r.entity_id for r in rows}),
                risk=max((r.risk for r in rows if r.risk), key=lambda r: risk_rank.get(r, 0), default=None),
                doc_id=chosen.doc_id,
                evidence=quotes,
            )
        )
    return result


def _negative_quotes(payload: dict, entity_ids: set[str]) -> list[EvidenceQuote]:  # type: ignore[type-arg]
    quotes = [
        e
        for t in payload.get("targets", [])
        if t.get("entity_id") in entity_ids and t.get("sentiment") == "negative"
        for e in t.get("evidence", [])
    ]
    if payload.get("sentiment") == "negative":
        quotes += payload.get("evidence", [])
    seen, result = set(), []
    for quote in quotes:
        if (quote["start"], quote["end"]) not in seen:
            seen.add((quote["start"], quote["end"]))
            result.append(EvidenceQuote(quote=quote["quote"], start=quote["start"], end=quote["end"]))
    return result[:QUOTES_PER_STORY]


def report_rows(session: Session, entity_ids: list[str], day: date, *, restricted: bool) -> list[ReportRow]:
    documents = session.scalars(
        _documents_on(day, entity_ids if restricted else None)
        .order_by(Document.published_at, Document.id)
        .limit(MAX_ROWS)
    ).all()
    labels: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(documents), 500):
        chunk = [d.id for d in documents[start : start + 500]]
        for doc_id, entity_id, sentiment in session.execute(
            select(M.doc_id, M.entity_id, M.sentiment).where(M.doc_id.in_(chunk)).order_by(M.doc_id, M.entity_id)
        ):
            labels[doc_id].append(f"{entity_id}:{sentiment}")
    return [
        ReportRow(
            doc_id=d.id,
            published_at=d.published_at,
            source=d.source,
            title=d.title,
            url=d.url,
            sentiment=d.sentiment,
            risk=d.risk,
            entities=",".join(labels.get(d.id, [])),
            story_id=d.story_id,
            duplicate_of=d.duplicate_of,
        )
        for d in documents
    ]
