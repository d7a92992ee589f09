"""Character-level entity tagger (PER, LOC, ORG) trained on MSRA NER with CRFsuite.

The model is a linear-chain CRF over character n-gram features (``char_features``), trained by
``analysis/training/train_ner.py`` with CRFsuite and shipped in ``analysis/models/``. Tagging does
not go through CRFsuite: building ten feature strings per character in Python and handing them
over one sentence at a time cost more than the rest of the offline analyzer. ``CrfModel`` reads
the weights from the model file into arrays, and one compiled function (numba) scores and decodes
all of a document's new sentences in a single call. Its arithmetic is CRFsuite's own (the same
additions in the same order, the first best label on a tie), so the labels are CRFsuite's; the
tests compare the two on the MSRA test split and on awkward text.

Sentences are memoised: news streams repeat sentences (reprints, boilerplate, wire copy), and a
repeated sentence then costs a dictionary look-up.
"""

from __future__ import annotations

import functools
import json
import re
import struct
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import numba
import numpy as np

from analysis.text import sentences
from yuqing.errors import ConfigError

EntityKind = Literal["PER", "LOC", "ORG"]
Tagged = tuple[EntityKind, int, int]  # (type, start, end) with end exclusive

MODELS_DIR = Path(__file__).parent / "models"
MODEL_PATH = MODELS_DIR / "msra_ner.crfsuite"
MODEL_CARD = MODELS_DIR / "msra_ner.json"
_CACHE_SENTENCES = 65536
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SPACE = re.compile(r"\s")

# Full-width ASCII (Ａ, １, ％) becomes half-width so news typeset either way looks like the training data;
# one character maps to one character, so offsets never move.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

# The feature templates, in the order char_features lists them (CRFsuite sums a character's weights in this
# order, and so does CrfModel): attribute prefix, then the offsets of the characters that follow it.
_TEMPLATES: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("c", (0,)),
    ("p", (-1,)),
    ("n", (1,)),
    ("P", (-2,)),
    ("N", (2,)),
    ("pc", (-1, 0)),
    ("cn", (0, 1)),
    ("pn", (-1, 1)),
    ("Pp", (-2, -1)),
    ("nN", (1, 2)),
)
_PAD = 2  # characters of context either side: "^^" before a sentence, "$$" after
_CODE_BITS = 21  # a code point fits in 21 bits, so two make one int64 key
_DIRECT_CODES = 0x10000  # single characters of the Basic Multilingual Plane find their row in a table, no search


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


def spans_from_labels(labels: Sequence[str], positions: Sequence[int] | None = None) -> list[Tagged]:
    """Entity spans of a BMES label sequence (B-ORG M-ORG E-ORG, S-PER, O); broken chains are dropped.

    ``positions`` gives each label's character index when only some characters are listed
    (a gap between two listed characters breaks a chain, as an O would).
    """
    found: list[Tagged] = []
    open_kind: str | None = None
    open_start = previous = -2
    for i, label in zip(range(len(labels)) if positions is None else positions, labels, strict=True):
        if i != previous + 1:
            open_kind = None
        previous = i
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


# --- the CRFsuite model file (crf1d, "lCRF"/"FOMC") ----------------------------------------------------
_HEADER = struct.Struct("<4sI4s9I")  # magic, size, type, version, features, labels, attrs, five offsets
_CHUNK = struct.Struct("<4sII")  # chunk id, size, count
_CQDB_HEADER = struct.Struct("<4sIIIII")  # "CQDB", size, flag, byte order, backward-link count, its offset
_FEATURE = np.dtype([("type", "<u4"), ("src", "<u4"), ("dst", "<u4"), ("weight", "<f8")])
_STATE, _TRANSITION = 0, 1


def _cqdb_strings(data: bytes, offset: int) -> list[str]:
    """The strings of a CQDB (CRFsuite's string/id store) in id order, read through its id -> record links."""
    chunk, _, _, _, count, links_at = _CQDB_HEADER.unpack_from(data, offset)
    if chunk != b"CQDB":
        raise ValueError(f"no string table at byte {offset}")
    found = []
    for link in np.frombuffer(data, "<u4", count, offset + links_at).tolist():
        _, size = struct.unpack_from("<II", data, offset + link)  # record: id, key size with its NUL, key
        start = offset + link + 8
        found.append(data[start : start + size - 1].decode("utf-8"))
    return found


class CrfModel:
    """A CRFsuite linear-chain model as arrays, tagging many sentences in one compiled pass."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        try:
            magic, _, kind, _, _, _, _, features_at, labels_at, attrs_at, _, _ = _HEADER.unpack_from(data)
            if magic != b"lCRF" or kind != b"FOMC":
                raise ValueError("not a CRFsuite crf1d model")
            chunk, _, count = _CHUNK.unpack_from(data, features_at)
            if chunk != b"FEAT":
                raise ValueError(f"no feature table at byte {features_at}")
            features = np.frombuffer(data, _FEATURE, count, features_at + _CHUNK.size)
            self.labels = _cqdb_strings(data, labels_at)
            attributes = _cqdb_strings(data, attrs_at)
            self.outside = self.labels.index("O")
        except (ValueError, struct.error, UnicodeDecodeError) as exc:
            raise ConfigError(f"entity tagger model {path} is unreadable ({exc}); rebuild it with train_ner") from exc
        size = len(self.labels)
        transitions = features[features["type"] == _TRANSITION]
        self.transitions = np.zeros((size, size))  # [from, to]
        self.transitions[transitions["src"], transitions["dst"]] = transitions["weight"]
        self._keys, self._weights, self._bounds = self._state_tables(
            features[features["type"] == _STATE], attributes, size
        )
        self._offsets = np.array([offsets + (0,) * (2 - len(offsets)) for _, offsets in _TEMPLATES], dtype=np.int64)
        self._widths = np.array([len(offsets) for _, offsets in _TEMPLATES], dtype=np.int64)
        self._direct = np.full((len(_TEMPLATES), _DIRECT_CODES), -1, dtype=np.int32)  # one character: its row
        for k in np.flatnonzero(self._widths == 1).tolist():
            rows = np.arange(self._bounds[k], self._bounds[k + 1])
            rows = rows[self._keys[rows] < _DIRECT_CODES]
            self._direct[k, self._keys[rows]] = rows
        self.best_labels(["预热"])  # load the compiled kernel now, not inside the first document's timing

    @staticmethod
    def _state_tables(state: np.ndarray, attributes: list[str], size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every template's attributes as sorted character keys, one after another, with their label weights.

        Template k owns keys[bounds[k]:bounds[k + 1]] and the same rows of weights (exact doubles from the file).
        """
        template_of = {(prefix, len(prefix) + len(offsets)): k for k, (prefix, offsets) in enumerate(_TEMPLATES)}
        owner = np.full(len(attributes), len(_TEMPLATES))  # past the last template: nothing produces it, never fires
        keys = np.zeros(len(attributes), dtype=np.int64)
        for attribute_id, attribute in enumerate(attributes):
            for width in (1, 2):
                k = template_of.get((attribute[:width], len(attribute)))
                if k is not None:
                    owner[attribute_id], keys[attribute_id] = k, _key(attribute[width:])
                    break
        order = np.lexsort((keys, owner))  # by template, then key
        order = order[owner[order] < len(_TEMPLATES)]
        row_of = np.full(len(attributes), -1)
        row_of[order] = np.arange(len(order))
        mine = state[row_of[state["src"]] >= 0]
        weights = np.zeros((len(order), size))
        weights[row_of[mine["src"]], mine["dst"]] = mine["weight"]
        bounds = np.searchsorted(owner[order], np.arange(len(_TEMPLATES) + 1))
        return keys[order], weights, bounds

    def best_labels(self, texts: Sequence[str]) -> list[np.ndarray]:
        """The Viterbi label ids of each text."""
        if not texts:
            return []
        return np.split(self.label_ids(texts), np.cumsum([len(t) for t in texts])[:-1])

    def label_ids(self, texts: Sequence[str]) -> np.ndarray:
        """The Viterbi label ids of all the texts' characters, one text after another."""
        padded = "".join("^" * _PAD + text + "$" * _PAD for text in texts).translate(_HALF_WIDTH)
        codes = np.frombuffer(padded.encode("utf-32-le"), dtype="<u4").astype(np.int64)
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        return _tag(  # type: ignore[no-any-return]
            codes,
            lengths,
            self._offsets,
            self._widths,
            self._direct,
            self._keys,
            self._weights,
            self._bounds,
            self.transitions,
        )


_BIG = np.finfo(np.float64).max  # CRFsuite's -FLOAT_MAX: the score to beat


@numba.njit(cache=True, nogil=True)
def _tag(codes, lengths, offsets, widths, direct, keys, weights, bounds, transitions):  # type: ignore[no-untyped-def]
    """Label ids for every character of the padded texts, as CRFsuite's crf1dt_state_score and crf1dc_viterbi.

    The same sums in the same order: a character's state score starts at zero and adds each template's
    weights in template order; the Viterbi step keeps the first best predecessor (a strict comparison).
    """
    size = transitions.shape[0]
    out = np.zeros(lengths.sum(), dtype=np.int64)
    base = 0  # where the text starts in codes (after its padding)
    first = 0  # where its labels start in out
    for n in lengths:
        base += _PAD
        if n == 0:
            base += _PAD
            continue
        state = np.zeros((n, size))
        for t in range(n):
            for k in range(offsets.shape[0]):
                key = codes[base + t + offsets[k, 0]]
                if widths[k] == 1 and key < _DIRECT_CODES:
                    row = direct[k, key]
                else:
                    if widths[k] == 2:
                        key = (key << _CODE_BITS) | codes[base + t + offsets[k, 1]]
                    lo, hi = bounds[k], bounds[k + 1]
                    row = lo + np.searchsorted(keys[lo:hi], key)
                    if row >= hi or keys[row] != key:
                        row = -1
                if row >= 0:
                    for j in range(size):
                        state[t, j] += weights[row, j]
        score = state[0].copy()
        fresh = np.empty(size)
        back = np.zeros((n, size), dtype=np.int64)
        for t in range(1, n):
            for j in range(size):
                best, arg = -_BIG, -1
                for i in range(size):
                    value = score[i] + transitions[i, j]
                    if best < value:
                        best, arg = value, i
                if arg >= 0:
                    back[t, j] = arg
                fresh[j] = best + state[t, j]
            score[:] = fresh
        best, label = -_BIG, 0
        for i in range(size):
            if best < score[i]:
                best, label = score[i], i
        out[first + n - 1] = label
        for t in range(n - 1, 0, -1):
            label = back[t, label]
            out[first + t - 1] = label
        first += n
        base += n + _PAD
    return out


def _key(chars: str) -> int:
    key = 0
    for char in chars:
        key = (key << _CODE_BITS) | ord(char)
    return key


class EntityTagger:
    """Load the CRF once; ``tag(text)`` gives (type, start, end) spans over the original text."""

    def __init__(self, model_path: Path = MODEL_PATH) -> None:
        if not model_path.is_file():
            raise ConfigError(
                f"entity tagger model {model_path} is missing; build it with python -m analysis.training.train_ner"
            )
        self.model_path = model_path
        self.model = CrfModel(model_path)
        self._memo: dict[str, tuple[Tagged, ...]] = {}
        self._lock = threading.Lock()  # the memo is shared by threads

    def labels(self, sentence: str) -> list[str]:
        """Raw BMES labels of one sentence (training and evaluation use this)."""
        if not sentence:
            return []
        names = self.model.labels
        return [names[i] for i in self.model.best_labels([sentence])[0].tolist()]

    def tag_sentences(self, texts: Iterable[str]) -> list[tuple[Tagged, ...]]:
        """Entity spans of each sentence (offsets within it); the sentences not seen before are tagged together."""
        texts = list(texts)
        with self._lock:
            known = {text: self._memo.get(text) for text in texts}
        new = list(dict.fromkeys(t for t, spans in known.items() if spans is None))
        tagged = [t for t in new if _HAN.search(t)]  # trained on Chinese only: on English it tags runs of words
        for text in new:
            known[text] = ()
        if tagged:
            ids = self.model.label_ids(tagged)
            named = np.flatnonzero(ids != self.model.outside)  # few characters are part of a name
            positions, labels = named.tolist(), ids[named].tolist()
            k, start = 0, 0
            for text in tagged:
                end = start + len(text)
                first = k
                while k < len(positions) and positions[k] < end:
                    k += 1
                known[text] = self._spans(text, [p - start for p in positions[first:k]], labels[first:k])
                start = end
        with self._lock:
            if len(self._memo) + len(new) > _CACHE_SENTENCES:
                self._memo.clear()
            self._memo.update((text, known[text]) for text in new)
        return [known[text] for text in texts]  # type: ignore[misc]

    def tag_sentence(self, sentence: str) -> tuple[Tagged, ...]:
        return self.tag_sentences([sentence])[0]

    def _spans(self, text: str, positions: list[int], labels: list[int]) -> tuple[Tagged, ...]:
        """spans_from_labels over the characters not labelled O (an O between two of them breaks a chain)."""
        found = spans_from_labels([self.model.labels[label] for label in labels], positions)
        return tuple(span for span in found if not _SPACE.search(text, span[1], span[2]))

    def tag(self, text: str) -> list[Tagged]:
        spans = sentences(text)
        found: list[Tagged] = []
        for sentence, tagged in zip(spans, self.tag_sentences(s.text for s in spans)):
            found.extend((kind, sentence.start + s, sentence.start + e) for kind, s, e in tagged)
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
