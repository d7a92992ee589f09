"""Character-level entity tagger (PER, LOC, ORG) trained on MSRA NER and run with CRFsuite.

The model is a linear-chain CRF over character n-gram features (``char_features``), trained by
``analysis/training/train_ner.py`` and shipped in ``analysis/models/``. Sentences are tagged
one at a time and memoised: news streams repeat sentences (reprints, boilerplate, wire copy),
and a repeated sentence then costs a dictionary look-up instead of a Viterbi pass.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pycrfsuite

from analysis.text import sentences
from yuqing.errors import ConfigError

EntityKind = Literal["PER", "LOC", "ORG"]
Tagged = tuple[EntityKind, int, int]  # (type, start, end) with end exclusive

MODELS_DIR = Path(__file__).parent / "models"
MODEL_PATH = MODELS_DIR / "msra_ner.crfsuite"
MODEL_CARD = MODELS_DIR / "msra_ner.json"
_CACHE_SENTENCES = 65536
_HAN = re.compile(r"[\u4e00-\u9fff]")

# Full-width ASCII (Ａ, １, ％) becomes half-width so news typeset either way looks like the training data;
# one character maps to one character, so offsets never move.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def char_features(sentence: str) -> list[list[str]]:
    """CRFsuite attributes per character: the character, its neighbours up to two away, and bigrams."""
    text = sentence.translate(_HALF_WIDTH)
    n = len(text)
    padded = "^^" + text + "$$"
    prev1, next1 = padded[1 : n + 1], padded[3 : n + 3]
    prev2, next2 = padded[0:n], padded[4 : n + 4]
    return [
        [
            "c" + c,
            "p" + p,
            "n" + x,
            "P" + pp,
            "N" + xx,
            "pc" + p + c,
            "cn" + c + x,
            "pn" + p + x,
            "Pp" + pp + p,
            "nN" + x + xx,
        ]
        for c, p, x, pp, xx in zip(text, prev1, next1, prev2, next2)
    ]


def spans_from_labels(labels: Sequence[str]) -> list[Tagged]:
    """Entity spans of a BMES label sequence (B-ORG M-ORG E-ORG, S-PER, O); broken chains are dropped."""
    found: list[Tagged] = []
    open_kind: str | None = None
    open_start = 0
    for i, label in enumerate(labels):
        position, _, kind = label.partition("-")
        if position == "S":
            found.append((kind, i, i + 1))  # type: ignore[arg-type]
            open_kind = None
        elif position == "B":
            open_kind, open_start = kind, i
        elif position == "M":
            if open_kind != kind:
                open_kind = None
        elif position == "E":
            if open_kind == kind:
                found.append((kind, open_start, i + 1))  # type: ignore[arg-type]
            open_kind = None
        else:
            open_kind = None
    return found


class EntityTagger:
    """Load the CRF once; ``tag(text)`` gives (type, start, end) spans over the original text."""

    def __init__(self, model_path: Path = MODEL_PATH) -> None:
        if not model_path.is_file():
            raise ConfigError(
                f"entity tagger model {model_path} is missing; build it with python -m analysis.training.train_ner"
            )
        self.model_path = model_path
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(model_path))
        self._lock = threading.Lock()  # one CRFsuite tagger holds per-call state
        self.tag_sentence = functools.lru_cache(maxsize=_CACHE_SENTENCES)(self._tag_sentence)

    def _tag_sentence(self, sentence: str) -> tuple[Tagged, ...]:
        if not _HAN.search(sentence):
            return ()  # trained on Chinese only: on English it tags runs of words as names
        return tuple(
            (kind, start, end)
            for kind, start, end in spans_from_labels(self.labels(sentence))
            if not any(c.isspace() for c in sentence[start:end])
        )

    def labels(self, sentence: str) -> list[str]:
        """Raw BMES labels of one sentence (training and evaluation use this)."""
        if not sentence:
            return []
        features = char_features(sentence)
        with self._lock:
            return list(self._tagger.tag(features))

    def tag(self, text: str) -> list[Tagged]:
        found: list[Tagged] = []
        for sentence in sentences(text):
            found.extend(
                (kind, sentence.start + s, sentence.start + e) for kind, s, e in self.tag_sentence(sentence.text)
            )
        return found


@functools.cache
def load_tagger() -> EntityTagger:
    """The shipped tagger, loaded once per process."""
    return EntityTagger()


def tag(text: str) -> list[Tagged]:
    """PER/LOC/ORG spans in ``text`` from the shipped tagger."""
    return load_tagger().tag(text)


def model_card() -> dict[str, object]:
    """What training recorded about the shipped model: data, parameters, sha256, test-set scores."""
    return json.loads(MODEL_CARD.read_text(encoding="utf-8"))
