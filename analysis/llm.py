"""LLM analyzer: any OpenAI-compatible server (vLLM in production) or a local transformers model.

Per document: the text is chunked on sentence ends, each chunk is asked with the versioned
prompt and a JSON schema that constrains decoding, the answers are validated with pydantic
(one repair attempt, then a recorded failure), merged, and every quote is verified against the
text with offsets computed here. Requests run concurrently (``max_concurrency`` in flight) so
the server's continuous batching is used. The SDK never retries (``max_retries=0``): retrying
a document is Celery's job.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import openai
from pydantic import ValidationError

from analysis.chunking import chunk_text
from analysis.evidence import EvidenceLocator
from analysis.linking import EntityLinker, new_entity_id
from analysis.llm_output import LLMOutput, response_format
from analysis.prompting import Message, PromptSet
from yuqing.contracts import Analysis, EntityMention, Evidence, Sentiment, TargetSentiment
from yuqing.errors import ConfigError, InvalidModelOutput, UpstreamUnavailable, YuqingError
from yuqing.settings import LLMSettings, WatchEntity

Complete = Callable[[list[Message]], Awaitable[str]]
Progress = Callable[[int, int], None]
_RISK_ORDER = {"low": 0, "medium": 1, "high": 2}


class ChatBackend(Protocol):
    """Turns messages into the model's raw answer; ``session()`` holds connections for one batch."""

    name: str

    def session(self) -> AbstractAsyncContextManager[Complete]: ...


class OpenAIChat:
    """An OpenAI-compatible chat server; vLLM compiles ``response_format`` into a decoding grammar."""

    name = "openai"

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Complete]:
        # One client per batch: an async client belongs to the event loop that created it.
        client = openai.AsyncOpenAI(
            base_url=self.settings.base_url,
            api_key=self.settings.api_key.get_secret_value(),
            max_retries=0,
            timeout=self.settings.timeout_s,
        )
        try:
            yield lambda messages: self._complete(client, messages)
        finally:
            await client.close()

    async def _complete(self, client: openai.AsyncOpenAI, messages: list[Message]) -> str:
        settings = self.settings
        try:
            response = await client.chat.completions.create(
                model=settings.model,
                messages=messages,  # type: ignore[arg-type]
                temperature=settings.temperature,
                top_p=settings.top_p,
                max_tokens=settings.max_output_tokens,
                response_format=response_format(),  # type: ignore[arg-type]
                extra_body={"repetition_penalty": settings.repetition_penalty},
            )
        except (openai.APITimeoutError, openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError) as exc:
            raise UpstreamUnavailable(f"LLM server {settings.base_url} failed: {exc}") from exc
        except openai.APIStatusError as exc:
            raise InvalidModelOutput(f"LLM server refused the request ({exc.status_code}): {exc.message}") from exc
        if not response.choices:
            raise InvalidModelOutput("LLM server answered with no choices")
        return response.choices[0].message.content or ""


@dataclass
class _TargetVotes:
    weight: dict[Sentiment, float] = field(default_factory=lambda: defaultdict(float))
    scores: list[tuple[float, float]] = field(default_factory=list)  # (score, weight)
    quotes: list[str] = field(default_factory=list)

    def add(self, sentiment: Sentiment, score: float, weight: float, quotes: Sequence[str]) -> None:
        # A decisive chunk outweighs a long chunk that only mentions the target in passing.
        vote = weight * max(abs(score), 0.1)
        self.weight[sentiment] += vote
        self.scores.append((score, vote))
        self.quotes.extend(quotes)

    @property
    def sentiment(self) -> Sentiment:
        return max(self.weight, key=self.weight.__getitem__)

    @property
    def score(self) -> float:
        total = sum(w for _, w in self.scores)
        return round(sum(s * w for s, w in self.scores) / total, 4) if total else 0.0


@dataclass
class MergedOutput:
    """The answers for all chunks of one document, combined."""

    overall: _TargetVotes
    targets: dict[str, _TargetVotes]
    entities: list[tuple[str, str]]
    keywords: list[str]
    summary: str
    risk: str


def merge_outputs(outputs: Sequence[LLMOutput], weights: Sequence[int]) -> MergedOutput:
    overall = _TargetVotes()
    targets: dict[str, _TargetVotes] = {}
    entities: dict[tuple[str, str], None] = {}
    keywords: dict[str, None] = {}
    risk = "low"
    for output, weight in zip(outputs, weights, strict=True):
        overall.add(output.sentiment, output.score, weight, output.quotes)
        for target in output.targets:
            targets.setdefault(target.name, _TargetVotes()).add(target.sentiment, target.score, weight, target.quotes)
        entities.update(dict.fromkeys((e.text, e.type) for e in output.entities))
        keywords.update(dict.fromkeys(output.keywords))
        risk = max(risk, output.risk, key=_RISK_ORDER.__getitem__)
    summary = next((o.summary for o in outputs if o.summary.strip()), "")
    return MergedOutput(overall, targets, list(entities), list(keywords)[:10], summary, risk)


class LLMAnalyzer:
    analyzer = "llm"

    def __init__(self, settings: LLMSettings, watchlist: list[WatchEntity], backend: ChatBackend | None = None) -> None:
        self.settings = settings
        self.watchlist = watchlist
        self.backend = backend or _default_backend(settings)
        self.prompts = PromptSet.load(settings.prompt_version)
        self.system = self.prompts.system_message(watchlist)
        self.linker = EntityLinker(watchlist)
        self.version = f"llm-{self.prompts.version}:{self.backend.name}:{settings.model}"

    # -- public API ---------------------------------------------------------------------------

    def analyze(self, doc_id: str, title: str, text: str) -> Analysis:
        [result] = self.analyze_batch([(doc_id, title, text)])
        if isinstance(result, Exception):
            raise result
        return result

    def analyze_batch(
        self, items: Sequence[tuple[str, str, str]], *, on_progress: Progress | None = None
    ) -> list[Analysis | YuqingError]:
        """Analyse documents concurrently; each result is an Analysis or the error that document met, in input order."""
        return asyncio.run(self._analyze_all(items, on_progress))

    # -- internals ----------------------------------------------------------------------------

    async def _analyze_all(self, items: Sequence[tuple[str, str, str]], on_progress: Progress | None) -> list[Analysis | YuqingError]:
        in_flight = asyncio.Semaphore(self.settings.max_concurrency)
        done = 0

        async with self.backend.session() as complete:

            async def one(doc_id: str, title: str, text: str) -> Analysis | YuqingError:
                nonlocal done
                try:
                    return await self._analyze_one(complete, in_flight, doc_id, title, text)
                except ConfigError:
                    raise  # the setup is wrong, not the document: stop the batch and say what to fix
                except YuqingError as exc:
                    return exc
                finally:
                    done += 1
                    if on_progress:
                        on_progress(done, len(items))

            return list(await asyncio.gather(*(one(*item) for item in items)))

    async def _analyze_one(self, complete: Complete, in_flight: asyncio.Semaphore, doc_id: str, title: str, text: str) -> Analysis:
        if not text.strip():
            raise InvalidModelOutput(f"document {doc_id} has no text to analyse")
        chunks = chunk_text(text, self.settings.max_chunk_chars)
        outputs = await asyncio.gather(
            *(
                self._ask(complete, in_flight, self.prompts.messages(self.system, title, c.text, part=i, parts=len(chunks)))
                for i, c in enumerate(chunks, start=1)
            )
        )
        return self._to_analysis(doc_id, text, merge_outputs(outputs, [len(c.text) for c in chunks]))

    async def _ask(self, complete: Complete, in_flight: asyncio.Semaphore, messages: list[Message]) -> LLMOutput:
        async with in_flight:
            raw = await complete(messages)
        try:
            return _parse(raw)
        except ValidationError as first:
            # One repair attempt: the model sees its output and what was wrong with it.
            async with in_flight:
                raw = await complete(self.prompts.repair_messages(messages, raw, _first_error(first)))
            try:
                return _parse(raw)
            except ValidationError as second:
                raise InvalidModelOutput(
                    f"LLM output failed the schema twice: {_first_error(second)}; output starts {raw[:120]!r}"
                ) from second

    def _to_analysis(self, doc_id: str, text: str, merged: MergedOutput) -> Analysis:
        locator = EvidenceLocator(text)
        unverified = 0

        def verify(quotes: Sequence[str]) -> list[Evidence]:
            nonlocal unverified
            found: dict[tuple[int, int], Evidence] = {}
            for quote in quotes:
                evidence = locator.find(quote)
                # Text that tries to instruct the analyzer is never evidence for a label.
                if evidence is None or locator.quotes_injection(evidence):
                    unverified += 1
                elif (evidence.start, evidence.end) not in found:
                    found[(evidence.start, evidence.end)] = evidence
            return list(found.values())[:3]

        targets: dict[str, TargetSentiment] = {}
        for name, votes in merged.targets.items():
            entity_id = self.linker.link(name, text)
            if entity_id is None or entity_id in targets:
                continue
            entity = next(e for e in self.watchlist if e.id == entity_id)
            targets[entity_id] = TargetSentiment(
                entity_id=entity_id, name=entity.name, sentiment=votes.sentiment, score=votes.score, evidence=verify(votes.quotes)
            )
        evidence = verify(merged.overall.quotes)
        sentiment = merged.overall.sentiment
        flags = ["prompt_injection"] if locator.injections else []
        unsupported = (sentiment != "neutral" and not evidence) or any(
            t.sentiment != "neutral" and not t.evidence for t in targets.values()
        )
        return Analysis(
            doc_id=doc_id,
            analyzer=self.analyzer,
            analyzer_version=self.version,
            prompt_version=self.prompts.version,
            model=self.settings.model,
            sentiment=sentiment,
            score=merged.overall.score,
            targets=list(targets.values()),
            entities=self._entities(text, locator, merged.entities),
            keywords=merged.keywords,
            summary=merged.summary,
            evidence=evidence,
            risk=merged.risk,  # type: ignore[arg-type]
            low_confidence=unsupported or bool(flags),
            unverified_quotes=unverified,
            flags=flags,
            created_at=datetime.now(UTC),
        )

    def _entities(self, text: str, locator: EvidenceLocator, named: list[tuple[str, str]]) -> list[EntityMention]:
        """The model's entities that occur in the text, linked; plus watched entities it missed."""
        mentions = {(m.start, m.end): m for m in self.linker.find(text)}
        for name, kind in named:
            span = locator.find(name, min_chars=1)
            if span is None or (span.start, span.end) in mentions:
                continue
            entity_id = self.linker.link(name, text)
            if entity_id is None and kind in ("ORG", "PER"):
                entity_id = new_entity_id(name, kind)
            mentions[(span.start, span.end)] = EntityMention(
                text=span.quote, type=kind, start=span.start, end=span.end, entity_id=entity_id  # type: ignore[arg-type]
            )
        return sorted(mentions.values(), key=lambda m: (m.start, m.end))


def _parse(raw: str) -> LLMOutput:
    return LLMOutput.model_validate_json(_strip_fences(raw))


def _strip_fences(raw: str) -> str:
    """Models without a decoding grammar (the transformers backend) often wrap JSON in ``` fences."""
    text = raw.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = "/".join(map(str, first["loc"]))
    return f"{where + ': ' if where else ''}{first['msg']}"


def _default_backend(settings: LLMSettings) -> ChatBackend:
    if settings.backend == "transformers":
        from analysis.local_llm import TransformersChat

        return TransformersChat(settings)
    return OpenAIChat(settings)
