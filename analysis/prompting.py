"""Versioned prompt files (``analysis/prompts/<version>/``), rendered into ChatML-style messages.

The system message holds everything that is the same for every document (task, label
definitions, examples, the watchlist), so vLLM's prefix cache serves it once; the document
comes last, in the user message, fenced so instructions inside it read as data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

from yuqing.errors import ConfigError
from yuqing.settings import WatchEntity

PROMPTS_DIR = Path(__file__).parent / "prompts"
DEFAULT_PROMPT_VERSION = "v2"

Message = dict[str, str]


def available_versions() -> list[str]:
    return sorted(p.name for p in PROMPTS_DIR.iterdir() if (p / "system.txt").is_file())


@dataclass(frozen=True)
class PromptSet:
    version: str
    system: Template
    user: Template
    repair: Template

    @classmethod
    def load(cls, version: str = DEFAULT_PROMPT_VERSION) -> PromptSet:
        folder = PROMPTS_DIR / version
        if not (folder / "system.txt").is_file():
            raise ConfigError(f"no prompt version {version!r}; available: {', '.join(available_versions())} (YQ_LLM__PROMPT_VERSION)")
        read = lambda name: Template((folder / name).read_text(encoding="utf-8"))  # noqa: E731
        return cls(version, read("system.txt"), read("user.txt"), read("repair.txt"))

    def system_message(self, watchlist: list[WatchEntity]) -> Message:
        lines = [f"- {e.name}：{'、'.join(a for a in e.aliases) or '（无别名）'}" for e in watchlist]
        return {"role": "system", "content": self.system.substitute(watchlist="\n".join(lines) or "- （无）")}

    def messages(self, system: Message, title: str, text: str, *, part: int = 1, parts: int = 1) -> list[Message]:
        note = f"（全文较长，这是第 {part}/{parts} 部分）\n" if parts > 1 else ""
        # The fence must not be closable from inside the document.
        body = text.replace("</document>", "</ document>")
        return [system, {"role": "user", "content": self.user.substitute(title=title or "（无标题）", part=note, text=body)}]

    def repair_messages(self, messages: list[Message], bad_output: str, error: str) -> list[Message]:
        return [
            *messages,
            {"role": "assistant", "content": bad_output[:4000]},
            {"role": "user", "content": self.repair.substitute(error=error)},
        ]
