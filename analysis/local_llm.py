"""In-process LLM backend: a local Hugging Face model run with ``transformers``.

For a workstation without a vLLM server. Same prompts, same contract, output validated the
same way; there is no decoding grammar here, so the schema is enforced by validation and the
one repair attempt. Generation runs in a worker thread, one request at a time (the model is
not shared safely between threads), so ``max_concurrency`` buys nothing on this backend.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from analysis.llm_output import output_schema
from analysis.prompting import Message
from yuqing.errors import ConfigError
from yuqing.settings import LLMSettings

_INSTALL_HINT = "the transformers backend needs torch and transformers: pip install 'yuqing[local-llm]'"


class TransformersChat:
    name = "transformers"

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None
        # The schema goes into the prompt: without a grammar the model must be told the shape.
        self._schema_hint = "JSON Schema：" + json.dumps(output_schema(), ensure_ascii=False, separators=(",", ":"))

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            try:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as exc:
                raise ConfigError(_INSTALL_HINT) from exc
            path = Path(self.settings.model).expanduser()
            if not (path / "config.json").is_file():
                raise ConfigError(
                    f"YQ_LLM__MODEL={self.settings.model!r} is not a Hugging Face model directory (no config.json); "
                    "the transformers backend loads local files only"
                )
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            if tokenizer.chat_template is None:
                raise ConfigError(f"the tokenizer in {path} has no chat template; use an instruct/chat model")
            device = "cuda" if torch.cuda.is_available() else "cpu"
            dtype = torch.bfloat16 if device == "cuda" else torch.float32
            model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype).to(device).eval()
            self._loaded = (tokenizer, model)
        return self._loaded

    def generate(self, messages: list[Message]) -> str:
        with self._lock:
            tokenizer, model = self._load()
            import torch

            messages = [{**messages[0], "content": messages[0]["content"] + "\n" + self._schema_hint}, *messages[1:]]
            inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
            inputs = {k: v.to(model.device) for k, v in inputs.items()}
            sampling = self.settings.temperature > 0
            with torch.inference_mode():
                output = model.generate(
                    **inputs,
                    max_new_tokens=self.settings.max_output_tokens,
                    do_sample=sampling,
                    temperature=self.settings.temperature if sampling else None,
                    top_p=self.settings.top_p if sampling else None,
                    repetition_penalty=self.settings.repetition_penalty,
                    pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
                )
            new_tokens = output[0, inputs["input_ids"].shape[1] :]
            return str(tokenizer.decode(new_tokens, skip_special_tokens=True))

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Any]:
        async def complete(messages: list[Message]) -> str:
            return await asyncio.to_thread(self.generate, messages)

        yield complete
