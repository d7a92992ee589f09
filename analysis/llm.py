"""LLM analyzer for any OpenAI-compatible server (vLLM in production).

The output is constrained by a JSON schema generated from ``LLMOutput`` and parsed with
``model_validate_json``; quotes are verified against the text and their offsets computed
here. The SDK never retries (``max_retries=0``): retrying is the caller's (Celery's) job.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import openai
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from yuqing.contracts import Analysis, EntityMention, Evidence, Sentiment, TargetSentiment
from yuqing.errors import InvalidModelOutput, UpstreamUnavailable
from yuqing.settings import LLMSettings, WatchEntity

PROMPT_VERSION = "v1"
_PROMPTS = Path(__file__).parent / "prompts"
MAX_TEXT_CHARS = 6000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LLMTarget(_Strict):
    name: str = Field(max_length=60)
    sentiment: Sentiment
    score: float = Field(ge=-1, le=1)
    quotes: list[str] = Field(default_factory=list, max_length=3)


class LLMEntity(_Strict):
    text: str = Field(max_length=60)
    type: Literal["ORG", "PER", "LOC", "PRODUCT"]


class LLMOutput(_Strict):
    sentiment: Sentiment
    score: float = Field(ge=-1, le=1)
    targets: list[LLMTarget] = Field(max_length=20)
    entities: list[LLMEntity] = Field(max_length=40)
    keywords: list[str] = Field(max_length=10)
    summary: str = Field(max_length=200)
    quotes: list[str] = Field(max_length=3)
    risk: Literal["low", "medium", "high"]


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def locate(quote: str, text: str) -> Evidence | None:
    """The quote's span in ``text`` (NFKC-normalised match, which keeps length for CJK), or None."""
    quote = _normalise(quote).strip()
    if not quote:
        return None
    start = _normalise(text).find(quote)
    if start < 0:
        return None
    return Evidence(quote=text[start : start + len(quote)], start=start, end=start + len(quote))


class LLMAnalyzer:
    def __init__(self, settings: LLMSettings, watchlist: list[WatchEntity]) -> None:
        self.settings = settings
        self.watchlist = watchlist
        self.client = openai.OpenAI(
            base_url=settings.base_url, api_key=settings.api_key.get_secret_value(), max_retries=0, timeout=settings.timeout_s
        )
        self.system_prompt = (_PROMPTS / f"system-{PROMPT_VERSION}.txt").read_text(encoding="utf-8")
        self.user_template = (_PROMPTS / f"user-{PROMPT_VERSION}.txt").read_text(encoding="utf-8")
        self.version = f"llm-{PROMPT_VERSION}:{settings.model}"
        self.schema = LLMOutput.model_json_schema()

    def _messages(self, title: str, text: str) -> list[dict[str, str]]:
        watch = "\n".join(f"- {e.name}: {', '.join(e.aliases)}" for e in self.watchlist) or "- （无）"
        user = self.user_template.format(watchlist=watch, title=title, text=text[:MAX_TEXT_CHARS])
        return [{"role": "system", "content": self.system_prompt}, {"role": "user", "content": user}]

    def _complete(self, messages: list[dict[str, str]]) -> str:
        try:
            response = self.client.chat.completions.create(
                model=self.settings.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=self.settings.temperature,
                top_p=self.settings.top_p,
                response_format={"type": "json_schema", "json_schema": {"name": "analysis", "schema": self.schema, "strict": True}},
                extra_body={"repetition_penalty": self.settings.repetition_penalty},
            )
        except (openai.APITimeoutError, openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError) as exc:
            raise UpstreamUnavailable(f"LLM server {self.settings.base_url} failed: {exc}") from exc
        except openai.APIStatusError as exc:
            raise InvalidModelOutput(f"LLM server refused the request ({exc.status_code}): {exc.message}") from exc
        return response.choices[0].message.content or ""

    def analyze(self, doc_id: str, title: str, text: str) -> Analysis:
        messages = self._messages(title, text)
        raw = self._complete(messages)
        try:
            output = LLMOutput.model_validate_json(raw)
        except ValidationError as first_error:
            # One repair attempt: show the model its output and the validation error.
            repair = messages + [
                {"role": "assistant", "content": raw[:4000]},
                {"role": "user", "content": f"输出不符合 JSON Schema：{first_error.errors()[0]['msg']}。请只输出修正后的 JSON。"},
            ]
            raw = self._complete(repair)
            try:
                output = LLMOutput.model_validate_json(raw)
            except ValidationError as exc:
                raise InvalidModelOutput(f"LLM output failed the schema twice: {exc.errors()[0]['msg']}; output starts {raw[:120]!r}") from exc
        return self._to_analysis(doc_id, text, output)

    def _to_analysis(self, doc_id: str, text: str, output: LLMOutput) -> Analysis:
        by_alias = {n: e for e in self.watchlist for n in e.names}
        targets: dict[str, TargetSentiment] = {}
        for target in output.targets:
            entity = by_alias.get(target.name)
            if entity is None or entity.id in targets:
                continue
            evidence = [ev for q in target.quotes if (ev := locate(q, text))]
            targets[entity.id] = TargetSentiment(
                entity_id=entity.id, name=entity.name, sentiment=target.sentiment, score=target.score, evidence=evidence
            )
        evidence = [ev for q in output.quotes if (ev := locate(q, text))]
        entities = []
        for entity in output.entities:
            span = locate(entity.text, text)
            if span is not None:
                linked = by_alias.get(entity.text)
                entities.append(EntityMention(text=span.quote, type=entity.type, start=span.start, end=span.end, entity_id=linked.id if linked else None))
        return Analysis(
            doc_id=doc_id,
            analyzer="llm",
            analyzer_version=self.version,
            prompt_version=PROMPT_VERSION,
            model=self.settings.model,
            sentiment=output.sentiment,
            score=output.score,
            targets=list(targets.values()),
            entities=entities,
            keywords=output.keywords,
            summary=output.summary,
            evidence=evidence,
            risk=output.risk,
            low_confidence=output.sentiment != "neutral" and not evidence,
            created_at=datetime.now(UTC),
        )


def schema_json() -> str:
    return json.dumps(LLMOutput.model_json_schema(), ensure_ascii=False)
