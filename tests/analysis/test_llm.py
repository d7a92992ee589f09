"""The LLM analyzer against a real HTTP server we control (fault injection), speaking the OpenAI protocol."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from analysis.llm import LLMAnalyzer
from yuqing.errors import InvalidModelOutput, UpstreamUnavailable
from yuqing.settings import LLMSettings, WatchEntity

TEXT = "因电池存在过热隐患，星辰科技宣布召回两万台智能音箱。公司已致歉。"
GOOD = {
    "sentiment": "negative", "score": -0.8,
    "targets": [{"name": "星辰", "sentiment": "negative", "score": -0.8, "quotes": ["星辰科技宣布召回两万台智能音箱", "星辰科技破产了"]}],
    "entities": [{"text": "星辰科技", "type": "ORG"}, {"text": "不存在公司", "type": "ORG"}],
    "keywords": ["召回"], "summary": "星辰科技召回音箱。", "quotes": ["公司已致歉"], "risk": "high",
}


class ScriptedLLM(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions with the next scripted reply: a dict, a raw string, an int status, or ('sleep', s)."""

    script: list = []
    requests: list = []

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(body)
        reply = type(self).script.pop(0)
        if isinstance(reply, tuple):
            time.sleep(reply[1])
            reply = GOOD
        if isinstance(reply, int):
            self.send_response(reply)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"error": {"message": "boom", "type": "server_error"}}).encode())
            return
        content = reply if isinstance(reply, str) else json.dumps(reply, ensure_ascii=False)
        payload = {
            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        }
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def llm_server():
    ScriptedLLM.script, ScriptedLLM.requests = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _analyzer(url, timeout=5.0):
    watch = [WatchEntity(id="xingchen", name="星辰科技", aliases=["星辰"])]
    return LLMAnalyzer(LLMSettings(base_url=url, model="tiny-qwen", timeout_s=timeout), watch)


def test_valid_output_is_verified_against_the_text(llm_server):
    ScriptedLLM.script = [GOOD]
    result = _analyzer(llm_server).analyze("d1", "标题", TEXT)
    assert result.sentiment == "negative" and result.risk == "high"
    [target] = result.targets
    assert target.entity_id == "xingchen"  # alias linked to the watched entity
    assert [e.quote for e in target.evidence] == ["星辰科技宣布召回两万台智能音箱"]  # invented quote dropped
    assert all(TEXT[e.start : e.end] == e.quote for e in result.evidence + target.evidence)
    assert [m.text for m in result.entities] == ["星辰科技"]
    request = ScriptedLLM.requests[0]
    assert request["response_format"]["type"] == "json_schema"
    assert request["messages"][0]["role"] == "system" and TEXT in request["messages"][1]["content"]


def test_junk_output_gets_one_repair_attempt(llm_server):
    ScriptedLLM.script = ["这不是 JSON", GOOD]
    assert _analyzer(llm_server).analyze("d1", "", TEXT).sentiment == "negative"
    assert len(ScriptedLLM.requests) == 2


def test_junk_twice_is_a_permanent_failure(llm_server):
    ScriptedLLM.script = ["junk", '{"sentiment": "angry"}']
    with pytest.raises(InvalidModelOutput, match="twice"):
        _analyzer(llm_server).analyze("d1", "", TEXT)


def test_server_errors_and_timeouts_are_retryable_and_not_retried_by_the_sdk(llm_server):
    ScriptedLLM.script = [500]
    with pytest.raises(UpstreamUnavailable):
        _analyzer(llm_server).analyze("d1", "", TEXT)
    assert len(ScriptedLLM.requests) == 1  # max_retries=0: Celery owns retries
    ScriptedLLM.script = [("sleep", 2.0)]
    with pytest.raises(UpstreamUnavailable):
        _analyzer(llm_server, timeout=0.5).analyze("d1", "", TEXT)
