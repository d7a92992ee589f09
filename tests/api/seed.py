"""A small, fully known dataset written through the repository (the same path the stages use)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from yuqing.contracts import Analysis, CleanDocument, Evidence, TargetSentiment, Transcript, TranscriptSegment
from yuqing.db.repository import upsert_analysis, upsert_documents, upsert_transcripts

WATCH = [
    {"id": "xingchen", "name": "星辰科技", "aliases": ["星辰"]},
    {"id": "yuanhang", "name": "远航汽车", "aliases": ["远航"]},
    {"id": "lanhai", "name": "蓝海银行"},
]
SHA = "a" * 64


def clean_doc(
    i: int | str,
    title: str,
    text: str,
    day: int,
    *,
    hour: int = 9,
    source: str = "huaxia",
    story: str | None = None,
    dup: str | None = None,
    media: tuple[str, ...] = (),
    language: str = "zh",
) -> CleanDocument:
    doc_id = i if isinstance(i, str) else f"d{i}"
    return CleanDocument(
        id=doc_id,
        url=f"http://x.cn/{doc_id}.html",
        canonical_url=f"http://x.cn/{doc_id}.html",
        source=source,
        title=title,
        text=text,
        published_at=datetime(2026, 11, day, hour, tzinfo=UTC),
        crawled_at=datetime(2026, 11, 20, tzinfo=UTC),
        content_hash=doc_id.ljust(64, "0"),
        story_id=story or doc_id,
        duplicate_of=dup,
        duplicate_kind="exact" if dup else None,
        media_sha256=list(media),
        transcript_text="新华社记者调查" if media else None,
        language=language,
    )


def analysis(
    doc_id: str,
    sentiment: str,
    targets: list[tuple[str, str, str]],
    *,
    text: str = "",
    quote: str | None = None,
    risk: str = "low",
    version: str = "v1",
) -> Analysis:
    evidence = []
    if quote:
        start = text.index(quote)
        evidence = [Evidence(quote=quote, start=start, end=start + len(quote))]
    return Analysis(
        doc_id=doc_id,
        analyzer="offline",
        analyzer_version=version,
        sentiment=sentiment,  # type: ignore[arg-type]
        score={"neutral": 0.0, "positive": 0.6, "negative": -0.6}[sentiment],
        targets=[
            TargetSentiment(entity_id=e, name=n, sentiment=s, score=0.0, evidence=evidence if s == "negative" else [])  # type: ignore[arg-type]
            for e, n, s in targets
        ],
        evidence=evidence,
        risk=risk,
        created_at=datetime.now(UTC),  # type: ignore[arg-type]
    )


TEXT_1 = "星辰科技宣布召回两万台音箱。消费者投诉音箱过热起火。"
TEXT_4 = "星辰科技召开董事会。【音频转写】新华社记者调查"


def seed_small(sessions: sessionmaker[Session]) -> None:
    """Four documents, 10-12 Nov 2026: a negative story with a reprint, a positive one, one with audio."""
    with sessions.begin() as s:
        upsert_documents(
            s,
            [
                clean_doc(1, "星辰科技召回音箱", TEXT_1, 10),
                clean_doc(2, "星辰科技召回音箱（转载）", TEXT_1, 11, source="dongfang", story="d1", dup="d1"),
                clean_doc(
                    3, "远航汽车销量创新高", "远航汽车销量增长。星辰科技也是供应商。", 11, hour=15, language="zh"
                ),
                clean_doc(4, "星辰科技董事会", TEXT_4, 12, media=(SHA,)),
                clean_doc(
                    5,
                    "Harbor Bank quarterly results",
                    "Harbor Bank 蓝海银行 reported steady results.",
                    12,
                    source="wire",
                    language="en",
                ),
            ],
        )
        upsert_analysis(
            s,
            analysis(
                "d1",
                "negative",
                [("xingchen", "星辰科技", "negative")],
                text=TEXT_1,
                quote="消费者投诉音箱过热起火",
                risk="high",
            ),
        )
        upsert_analysis(
            s,
            analysis(
                "d2",
                "negative",
                [("xingchen", "星辰科技", "negative")],
                text=TEXT_1,
                quote="消费者投诉音箱过热起火",
                risk="medium",
            ),
        )
        upsert_analysis(
            s, analysis("d3", "positive", [("yuanhang", "远航汽车", "positive"), ("xingchen", "星辰科技", "neutral")])
        )
        upsert_analysis(s, analysis("d4", "neutral", [("xingchen", "星辰科技", "neutral")]))
        upsert_analysis(s, analysis("d5", "neutral", [("lanhai", "蓝海银行", "neutral")]))
        upsert_transcripts(
            s,
            [
                Transcript(
                    media_sha256=SHA,
                    media_key=f"raw/media/{SHA}.mp3",
                    backend="faster-whisper",
                    model="base",
                    language="zh",
                    segments=[TranscriptSegment(start=0.0, end=3.5, text="新华社记者调查")],
                )
            ],
        )
