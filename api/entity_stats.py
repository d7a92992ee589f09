"""Per-entity numbers: counts from the day rollups, the rest from ``entity_mentions``'s covering indexes."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.queries import day_start, summaries
from api.schemas import CoMention, DailyCount, EntityReport, EntitySummary, HourlyCount
from yuqing.db.models import Document, EntityDayCoMention, EntityDaySentiment, EntityDaySource, EntityMentionRow
from yuqing.settings import Settings, WatchEntity

SENTIMENTS = ("positive", "negative", "neutral")
HOURLY_SPAN = timedelta(hours=48)
M = EntityMentionRow
DS = EntityDaySentiment


def newest_mention_day(session: Session, entity_id: str | None = None) -> date | None:
    if entity_id is None:
        newest = session.scalar(select(func.max(Document.published_at)))
        return newest.date() if newest else None
    return session.scalar(select(func.max(M.published_date)).where(M.entity_id == entity_id))


def mention_day_extremes(session: Session, entity_ids: list[str], newest: bool = True) -> dict[str, date | None]:
    """Each entity's newest (or first) mention day: one index probe per entity, never a scan of every mention."""
    if not entity_ids:
        return {}
    pick = func.max if newest else func.min
    probes = [select(pick(M.published_date)).where(M.entity_id == e).scalar_subquery() for e in entity_ids]
    return dict(zip(entity_ids, session.execute(select(*probes)).one(), strict=True))


def default_window(
    session: Session, since: date | None, until: date | None, days: int, entity_id: str | None = None
) -> tuple[date, date]:
    """`until` defaults to the newest day with mentions (so old data still shows), `since` to `days` before it."""
    end = until or newest_mention_day(session, entity_id) or datetime.now(UTC).date()
    start = since or end - timedelta(days=days - 1)
    return start, end


def entity_summaries(session: Session, settings: Settings, since: date, until: date) -> list[EntitySummary]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    rows = session.execute(
        select(DS.entity_id, DS.sentiment, func.sum(DS.mentions))
        .where(DS.day >= since, DS.day <= until)
        .group_by(DS.entity_id, DS.sentiment)
    )
    for entity_id, sentiment, n in rows:
        counts[entity_id][sentiment] += int(n)
    last_seen = mention_day_extremes(session, [e.id for e in settings.watchlist])
    result = []
    for entity in settings.watchlist:
        by_sentiment = {s: counts[entity.id][s] for s in SENTIMENTS}
        mentions = sum(by_sentiment.values())
        result.append(
            EntitySummary(
                entity_id=entity.id,
                name=entity.name,
                type=entity.type,
                aliases=entity.aliases,
                mentions=mentions,
                by_sentiment=by_sentiment,
                negative_share=round(by_sentiment["negative"] / mentions, 4) if mentions else 0.0,
                last_mentioned=last_seen.get(entity.id),
            )
        )
    return sorted(result, key=lambda e: (-e.mentions, e.entity_id))


def entity_report(
    session: Session,
    settings: Settings,
    entity: WatchEntity,
    since: date | None,
    until: date | None,
    *,
    latest: int = 5,
    top: int = 10,
) -> EntityReport:
    def window(entity_column, day_column):  # type: ignore[no-untyped-def]
        return (
            [entity_column == entity.id]
            + ([day_column >= since] if since else [])
            + ([day_column <= until] if until else [])
        )

    in_window = window(M.entity_id, M.published_date)
    per_day = window(DS.entity_id, DS.day)
    per_source = window(EntityDaySource.entity_id, EntityDaySource.day)
    per_neighbour = window(EntityDayCoMention.entity_id, EntityDayCoMention.day)
    daily: dict[date, Counter[str]] = defaultdict(Counter)
    by_sentiment: Counter[str] = Counter({s: 0 for s in SENTIMENTS})
    stories = 0  # counted at each story's opening document, so a day's count adds up over a window
    for day, sentiment, n, originals in session.execute(
        select(DS.day, DS.sentiment, DS.mentions, DS.originals).where(*per_day)
    ):
        by_sentiment[sentiment] += n
        stories += originals
        if n:
            daily[day][sentiment] += n

    total = func.sum(EntityDaySource.mentions)
    sources = session.execute(
        select(EntityDaySource.source, total)
        .where(*per_source)
        .group_by(EntityDaySource.source)
        .having(total > 0)
        .order_by(total.desc(), EntityDaySource.source)
        .limit(top)
    ).all()

    hourly = _hourly(session, entity.id, until)

    together = func.sum(EntityDayCoMention.mentions)
    neighbours = session.execute(
        select(EntityDayCoMention.other_id, together)
        .where(*per_neighbour)
        .group_by(EntityDayCoMention.other_id)
        .having(together > 0)
        .order_by(together.desc(), EntityDayCoMention.other_id)
        .limit(top)
    ).all()
    names = {e.id: e.name for e in settings.watchlist}

    negative_ids = (
        select(M.doc_id)
        .where(*in_window, M.sentiment == "negative")
        .order_by(M.published_at.desc(), M.doc_id)
        .limit(latest)
    )
    latest_negative = session.scalars(
        select(Document).where(Document.id.in_(negative_ids)).order_by(Document.published_at.desc(), Document.id)
    ).all()

    return EntityReport(
        entity_id=entity.id,
        name=entity.name,
        aliases=entity.aliases,
        since=since,
        until=until,
        mentions=sum(by_sentiment.values()),
        stories=stories,
        by_sentiment=dict(by_sentiment),
        daily=[DailyCount(date=d, **{s: c[s] for s in SENTIMENTS}) for d, c in sorted(daily.items())],
        hourly=hourly,
        top_sources={source or "unknown": int(n) for source, n in sources},
        co_mentioned=[CoMention(entity_id=e, name=names.get(e, e), documents=int(n)) for e, n in neighbours],
        latest_negative=summaries(session, latest_negative),
    )


def _hourly(session: Session, entity_id: str, until: date | None) -> list[HourlyCount]:
    """Mentions per hour over the 48 hours up to the end of `until` (or the newest mention)."""
    if until is not None:
        end = day_start(until + timedelta(days=1))
    else:
        newest = session.scalar(select(func.max(M.published_at)).where(M.entity_id == entity_id))
        if newest is None:
            return []
        newest = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
        end = newest.astimezone(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - HOURLY_SPAN
    hours: dict[datetime, Counter[str]] = defaultdict(Counter)
    rows = session.execute(
        select(M.published_at, M.sentiment).where(
            M.entity_id == entity_id, M.published_at >= start, M.published_at < end
        )
    )
    for published, sentiment in rows:
        published = published if published.tzinfo else published.replace(tzinfo=UTC)
        hours[published.astimezone(UTC).replace(minute=0, second=0, microsecond=0)][sentiment] += 1
    return [HourlyCount(hour=h, **{s: c[s] for s in SENTIMENTS}) for h, c in sorted(hours.items())]
