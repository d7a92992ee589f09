"""The LLM analyzer against a real vLLM server (CPU build) serving a tiny random-weight Qwen2.

Random weights give nonsense labels and quotes, which is what makes these tests useful: the
schema must still hold, and every nonsense quote must be dropped, never stored.
A recording proxy (a real HTTP server between the analyzer and vLLM) shows what the model
actually said, so stored evidence can be compared with the raw output.
"""

from __future__ import annotations

import json
import sys
import threading
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import openai
import pytest

from analysis.llm import LLMAnalyzer, LLMOutput
from analysis.prompting import PromptSet
from tests.analysis.vllm_cpu import ServedModel, VLLMServer, VLLMSetupError, ensure_tiny_model
from yuqing.contracts import Analysis
from yuqing.demo_site.catalog import load_articles, load_watchlist
from yuqing.errors import PermanentError
from yuqing.settings import LLMSettings, WatchEntity

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WATCHLIST = [WatchEntity(**entry) for entry in load_watchlist()]
WATCH_IDS = {entity.id for entity in WATCHLIST}
ARTICLES = load_articles()


def _fold(text: str) -> str:
    """Lenient matching: NFKC, case-folded, whitespace dropped (a quote that differs only so still counts)."""
    return "".join(c for c in unicodedata.normalize("NFKC", text).casefold() if not c.isspace())


# The tiny model shares two cores with everything else running here: minutes, not seconds, under load.
TIMEOUT_S = 600.0


def _analyzer(server_url: str, model: str, **overrides: object) -> LLMAnalyzer:
    settings = {"timeout_s": TIMEOUT_S, **overrides}
    return LLMAnalyzer(LLMSettings(base_url=server_url, model=model, **settings), WATCHLIST)


def assert_contract(result: Analysis, doc_id: str, text: str, model: str) -> None:
    """What an analyst relies on, whatever the model said."""
    Analysis.model_validate(result.model_dump())  # enums and bounds, re-checked from plain data
    assert result.doc_id == doc_id
    assert result.analyzer == "llm" and result.model == model and result.prompt_version
    assert result.sentiment in {"positive", "negative", "neutral"} and -1 <= result.score <= 1
    assert result.risk in {"low", "medium", "high"}
    assert len({t.entity_id for t in result.targets}) == len(result.targets)
    for target in result.targets:
        assert target.entity_id in WATCH_IDS, target
        assert target.sentiment in {"positive", "negative", "neutral"} and -1 <= target.score <= 1
    for quote in [*result.evidence, *(ev for t in result.targets for ev in t.evidence)]:
        assert quote.quote and text[quote.start : quote.end] == quote.quote, quote
    for mention in result.entities:
        assert text[mention.start : mention.end] == mention.text, mention
        assert mention.entity_id is None or mention.entity_id in WATCH_IDS
    if result.sentiment != "neutral" and not result.evidence:
        assert result.low_confidence, "a non-neutral label without surviving evidence must be low-confidence"


def _parsed(raw: str) -> LLMOutput | None:
    try:
        return LLMOutput.model_validate_json(raw)
    except ValueError:  # an answer the analyzer had to repair
        return None


@dataclass
class Exchange:
    request: dict
    content: str | None  # the model's message, None when the server answered an error


@dataclass
class RecordingProxy:
    """A real HTTP server that forwards to vLLM and keeps every chat exchange."""

    upstream: str
    exchanges: list[Exchange] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def outputs_for(self, title: str) -> list[str]:
        """The model's raw outputs for the document with this title, in order (a repair comes second)."""
        with self.lock:
            return [
                e.content
                for e in self.exchanges
                if e.content is not None
                and any(title in m["content"] for m in e.request["messages"] if m["role"] == "user")
            ]


@pytest.fixture
def proxy(vllm_server: ServedModel) -> Iterator[tuple[RecordingProxy, str]]:
    recorder = RecordingProxy(vllm_server.base_url.removesuffix("/v1"))
    client = httpx.Client(base_url=recorder.upstream, timeout=TIMEOUT_S)

    class Forward(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            upstream = client.post(self.path, content=body, headers={"Content-Type": "application/json"})
            content = None
            if upstream.status_code == 200:
                content = upstream.json()["choices"][0]["message"]["content"]
            with recorder.lock:
                recorder.exchanges.append(Exchange(json.loads(body), content))
            self.send_response(upstream.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(upstream.content)))
            self.end_headers()
            self.wfile.write(upstream.content)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield recorder, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        client.close()


def test_a_demo_article_is_analysed_into_a_valid_contract(vllm_server: ServedModel) -> None:
    article = ARTICLES[0]
    result = _analyzer(vllm_server.base_url, vllm_server.model).analyze("doc-0", article.title, article.body_text)
    assert_contract(result, "doc-0", article.body_text, vllm_server.model)
    assert result.analyzer_version.endswith(vllm_server.model)


def test_only_quotes_found_in_the_text_are_stored(vllm_server: ServedModel, proxy: tuple[RecordingProxy, str]) -> None:
    recorder, proxy_url = proxy
    analyzer = _analyzer(proxy_url, vllm_server.model)
    articles = ARTICLES[:8]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda ia: analyzer.analyze(f"doc-{ia[0]}", ia[1].title, ia[1].body_text), enumerate(articles))
        )
    proposed = not_in_text = 0
    for i, (article, result) in enumerate(zip(articles, results, strict=True)):
        text = article.body_text
        assert_contract(result, f"doc-{i}", text, vllm_server.model)
        raw = [out for out in map(_parsed, recorder.outputs_for(article.title)) if out is not None]
        assert raw, f"no valid model output recorded for {article.title}"
        raw_quotes = {_fold(q) for out in raw for q in [*out.quotes, *(q for t in out.targets for q in t.quotes)]}
        missing = [q for out in raw for q in out.quotes if _fold(q) not in _fold(text)]
        proposed += sum(len(out.quotes) for out in raw)
        not_in_text += len(missing)
        # Stored evidence is the model's own quotes, found in the text; nothing invented, nothing unverified.
        stored = [*result.evidence, *(ev for t in result.targets for ev in t.evidence)]
        assert all(_fold(ev.quote) in raw_quotes for ev in stored), (stored, raw_quotes)
        if hasattr(result, "unverified_quotes"):
            assert result.unverified_quotes >= len(missing)
    # Random weights write quotes that are not in the text: the test saw some, and none was stored.
    assert proposed > 0 and not_in_text > 0, f"the model proposed {proposed} quotes, {not_in_text} not in the text"


def test_twenty_four_documents_analysed_concurrently_are_all_valid(vllm_server: ServedModel) -> None:
    analyzer = _analyzer(vllm_server.base_url, vllm_server.model)
    docs = [(f"doc-{i}", a.title, a.body_text) for i, a in enumerate(ARTICLES[:24])]
    assert len(docs) == 24
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda d: analyzer.analyze(*d), docs))
    for (doc_id, _, text), result in zip(docs, results, strict=True):
        assert_contract(result, doc_id, text, vllm_server.model)
    unsupported = [r for r in results if r.sentiment != "neutral" and not r.evidence]
    assert all(r.low_confidence for r in unsupported)


def test_raw_json_schema_requests_are_always_schema_valid(vllm_server: ServedModel) -> None:
    # The analyzer's own prompts and decoding settings, one request per demo article: the schema
    # alone must keep every answer valid, without the analyzer's repair attempt.
    settings = LLMSettings()
    prompts = PromptSet.load(settings.prompt_version)
    system = prompts.system_message(WATCHLIST)
    requests = [prompts.messages(system, a.title, a.body_text[: settings.max_chunk_chars]) for a in ARTICLES[:32]]
    schema = LLMOutput.model_json_schema()
    client = openai.OpenAI(base_url=vllm_server.base_url, api_key="EMPTY", max_retries=0, timeout=TIMEOUT_S)

    def ask(messages: list[dict[str, str]]) -> tuple[str, str]:
        response = client.chat.completions.create(
            model=vllm_server.model,
            messages=messages,  # type: ignore[arg-type]
            temperature=settings.temperature,
            top_p=settings.top_p,
            max_tokens=settings.max_output_tokens,
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "analysis", "schema": schema, "strict": True},
            },
            extra_body={"repetition_penalty": settings.repetition_penalty},
        )
        return response.choices[0].message.content or "", response.choices[0].finish_reason

    with ThreadPoolExecutor(max_workers=16) as pool:
        outputs = list(pool.map(ask, requests))
    client.close()
    assert len(outputs) == 32
    invalid = []
    for raw, finish_reason in outputs:
        try:
            LLMOutput.model_validate_json(raw)
        except ValueError as exc:
            invalid.append((finish_reason, raw[:160], str(exc)[:160]))
    assert not invalid, f"{len(invalid)}/32 answers failed the schema (finish_reason, start, error): {invalid[:3]}"


def test_an_unknown_model_name_is_a_permanent_error(vllm_server: ServedModel) -> None:
    analyzer = _analyzer(vllm_server.base_url, "no-such-model")
    with pytest.raises(PermanentError, match="404"):
        analyzer.analyze("doc-x", "标题", "正文。")


# -- the server harness itself --------------------------------------------------------------


def test_a_server_that_dies_at_start_fails_with_its_log(tmp_path: Path) -> None:
    # The project venv has no vLLM: the process exits at once, and the error must say why.
    server = VLLMServer(tmp_path, python=Path(sys.executable), log_path=tmp_path / "server.log")
    with pytest.raises(VLLMSetupError, match="No module named 'vllm'"):
        server.__enter__()


def test_a_server_not_healthy_in_time_is_stopped_and_its_log_shown(vllm_server: ServedModel, tmp_path: Path) -> None:
    server = VLLMServer(ensure_tiny_model(), startup_timeout_s=3, log_path=tmp_path / "server.log")
    with pytest.raises(VLLMSetupError, match="not healthy after 3s") as error:
        server.__enter__()
    assert str(server.log_path) in str(error.value)
    assert server.proc is not None and server.proc.returncode is not None
    assert not _live_processes_in_group(server.proc.pid), "the engine's processes must go with the server"


def _live_processes_in_group(pgid: int) -> list[int]:
    """Processes of the group that still run (zombies waiting to be reaped do not count)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            live.append(int(stat.parent.name))
    return live
