"""An OpenAI-protocol chat server we script: real HTTP on 127.0.0.1, for fault injection."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD = {
    "sentiment": "negative", "score": -0.8,
    "targets": [{"name": "星辰", "sentiment": "negative", "score": -0.8, "quotes": ["星辰科技宣布召回两万台智能音箱", "星辰科技破产了"]}],
    "entities": [{"text": "星辰科技", "type": "ORG"}, {"text": "不存在公司", "type": "ORG"}],
    "keywords": ["召回"], "summary": "星辰科技召回音箱。", "quotes": ["公司已致歉"], "risk": "high",
}


def document_of(body: dict) -> str:
    content = next(m["content"] for m in body["messages"] if "<document>" in m["content"] and m["role"] == "user")
    return content.split("<document>\n", 1)[-1].split("\n</document>", 1)[0]


class ScriptedLLM(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions: the next scripted reply if any, else ``respond(body)``.

    A reply is a dict (sent as JSON content), a raw string, an int HTTP status, ('sleep', s),
    or 'drop' (close the connection without answering).
    """

    script: list = []
    respond = staticmethod(lambda body: GOOD)
    requests: list = []
    in_flight = 0
    most_in_flight = 0
    lock = threading.Lock()

    def log_message(self, *args):  # keep test output clean
        pass

    def do_POST(self):
        cls = type(self)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with cls.lock:
            cls.requests.append(body)
            reply = cls.script.pop(0) if cls.script else cls.respond(body)
            cls.in_flight += 1
            cls.most_in_flight = max(cls.most_in_flight, cls.in_flight)
        try:
            self._answer(body, reply)
        finally:
            with cls.lock:
                cls.in_flight -= 1

    def _answer(self, body, reply):
        if isinstance(reply, tuple):
            time.sleep(reply[1])
            reply = GOOD if len(reply) == 2 else reply[2]
        if reply == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            return
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


@contextmanager
def scripted_llm() -> Iterator[str]:
    """Serve ScriptedLLM on a free port; yields the OpenAI base URL."""
    ScriptedLLM.script, ScriptedLLM.requests = [], []
    ScriptedLLM.respond = staticmethod(lambda body: GOOD)
    ScriptedLLM.in_flight = ScriptedLLM.most_in_flight = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), ScriptedLLM)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
