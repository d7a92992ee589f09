"""Fine-tuning data: analyst-corrected analyses and trustworthy LLM outputs as Qwen-format SFT records.

One record per document::

    {"id": "<doc id>", "source": "feedback" | "llm", "system": "<system prompt>",
     "conversations": [{"from": "user", "value": "<user prompt>"}, {"from": "assistant", "value": "<JSON>"}]}

The prompts are exactly what the LLM analyzer sends (same version, same watchlist), and the
answer validates against the same schema, so a LoRA adapter trained on this data learns the
contract it will be asked for. Corrections from ``POST /feedback`` are applied on top of the
newest analysis; LLM outputs are taken only when confident and fully verified. Reprints are
skipped so one story is not learned twenty times; documents too long for one prompt are
skipped because their answer was merged from several.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from analysis.llm_output import LLMOutput
from analysis.prompting import PromptSet
from yuqing.contracts import Analysis
from yuqing.db.models import AnalysisRow, Document, FeedbackRow
from yuqing.settings import LLMSettings, WatchEntity

_LABEL_SCORE = {"positive": 0.7, "negative": -0.7, "neutral": 0.0}


class ExportReport(BaseModel):
    written: int = 0
    from_feedback: int = 0
    from_llm: int = 0
    skipped: dict[str, int] = {}


def apply_feedback(analysis: Analysis, corrections: list[FeedbackRow], watchlist: list[WatchEntity]) -> Analysis:
    """The analysis as the analyst says it should have been (corrections in the order they were made)."""
    data = analysis.model_dump()
    names = {e.id: e.name for e in watchlist}
    for fix in sorted(corrections, key=lambda f: f.created_at):
        if fix.field == "sentiment":
            data["sentiment"], data["score"] = fix.new_value, _LABEL_SCORE.get(fix.new_value, 0.0)
        elif fix.field == "risk":
            data["risk"] = fix.new_value
        elif fix.field in ("entity_sentiment", "entity_missing") and fix.entity_id:
            targets = [t for t in data["targets"] if t["entity_id"] != fix.entity_id]
            old = next((t for t in data["targets"] if t["entity_id"] == fix.entity_id), None)
            targets.append({
                "entity_id": fix.entity_id,
                "name": old["name"] if old else names.get(fix.entity_id, fix.entity_id),
                "sentiment": fix.new_value,
                "score": _LABEL_SCORE.get(fix.new_value, 0.0),
                "evidence": old["evidence"] if old and old["sentiment"] == fix.new_value else [],
            })
            data["targets"] = targets
        elif fix.field == "entity_wrong" and fix.entity_id:
            data["targets"] = [t for t in data["targets"] if t["entity_id"] != fix.entity_id]
            data["entities"] = [e for e in data["entities"] if e["entity_id"] != fix.entity_id]
    return Analysis.model_validate(data)


def answer_for(analysis: Analysis) -> LLMOutput:
    """The JSON answer the model should give for this analysis (validated by the output schema)."""
    entities = {(m.text, m.type): None for m in analysis.entities}
    return LLMOutput.model_validate({
        "sentiment": analysis.sentiment,
        "score": round(analysis.score, 2),
        "targets": [
            {"name": t.name, "sentiment": t.sentiment, "score": round(t.score, 2), "quotes": [e.quote[:100] for e in t.evidence[:2]]}
            for t in analysis.targets[:8]
        ],
        "entities": [{"text": text[:40], "type": kind} for text, kind in list(entities)[:20]],
        "keywords": [k[:20] for k in analysis.keywords[:8]],
        "summary": analysis.summary[:120],
        "quotes": [e.quote[:100] for e in analysis.evidence[:3]],
        "risk": analysis.risk,
    })


def export_sft(
    sessions: sessionmaker[Session], output: Path, settings: LLMSettings, watchlist: list[WatchEntity]
) -> ExportReport:
    prompts = PromptSet.load(settings.prompt_version)
    system = prompts.system_message(watchlist)
    report = ExportReport()
    skipped: dict[str, int] = defaultdict(int)
    with sessions() as session:
        corrections: dict[str, list[FeedbackRow]] = defaultdict(list)
        for fix in session.scalars(select(FeedbackRow)):
            corrections[fix.doc_id].append(fix)
        newest: dict[str, AnalysisRow] = {}
        for row in session.scalars(select(AnalysisRow).order_by(AnalysisRow.id)):
            newest[row.doc_id] = row  # later ids replace earlier ones
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8") as out:
            for doc_id, row in sorted(newest.items()):
                document = session.get(Document, doc_id)
                if document is None:
                    continue
                reason, record = _record(document, row, corrections.get(doc_id, []), prompts, system, settings, watchlist)
                if record is None:
                    skipped[reason] += 1
                    continue
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                report.written += 1
                if record["source"] == "feedback":
                    report.from_feedback += 1
                else:
                    report.from_llm += 1
    report.skipped = dict(skipped)
    return report


def _record(
    document: Document,
    row: AnalysisRow,
    fixes: list[FeedbackRow],
    prompts: PromptSet,
    system: dict[str, str],
    settings: LLMSettings,
    watchlist: list[WatchEntity],
) -> tuple[str, dict[str, Any] | None]:
    if document.duplicate_of:
        return "reprint", None
    if len(document.text) > settings.max_chunk_chars:
        return "longer than one prompt", None
    analysis = Analysis.model_validate(row.payload)
    if fixes:
        analysis, source = apply_feedback(analysis, fixes, watchlist), "feedback"
    elif analysis.analyzer != "llm":
        return "not an LLM analysis and not corrected", None
    elif analysis.low_confidence or analysis.unverified_quotes or analysis.flags:
        return "LLM analysis not confident or not fully verified", None
    else:
        source = "llm"
    [_, user] = prompts.messages(system, document.title, document.text)
    answer = answer_for(analysis).model_dump_json()
    return source, {
        "id": document.id,
        "source": source,
        "system": system["content"],
        "conversations": [{"from": "user", "value": user["content"]}, {"from": "assistant", "value": answer}],
    }
