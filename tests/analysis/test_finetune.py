"""Fine-tuning data export, the LoRA script and the in-process transformers backend, on a tiny random Qwen2."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from analysis.finetune.lora import LoraOptions, train
from analysis.llm import LLMAnalyzer
from analysis.llm_output import LLMOutput
from analysis.prompting import PromptSet
from analysis.sft import export_sft
from tests.analysis.vllm_cpu import _make_model
from yuqing.contracts import Analysis, CleanDocument, Evidence, TargetSentiment
from yuqing.db import make_engine, migrate, session_factory
from yuqing.db.models import FeedbackRow
from yuqing.db.repository import upsert_analysis, upsert_documents
from yuqing.errors import ConfigError, InvalidModelOutput
from yuqing.settings import LLMSettings, WatchEntity

pytest.importorskip("peft", reason="needs the local-llm extra: pip install 'yuqing[local-llm]'")

WATCH = [WatchEntity(id="xingchen", name="星辰科技", aliases=["星辰"]), WatchEntity(id="yuanhang", name="远航汽车")]
TEXTS = {
    "recall": "因电池存在过热隐患，星辰科技宣布召回两万台智能音箱。",
    "growth": "远航汽车三季度营收同比增长百分之三十，新车型订单超出预期。",
    "unsure": "星辰科技今日召开发布会，介绍了新款产品。",
    "reprint": "因电池存在过热隐患，星辰科技宣布召回两万台智能音箱。（转载）",
    "offline": "远航汽车将于下周召开董事会。",
}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-qwen")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(TEXTS.values()) * 20 + PromptSet.load().system.template, encoding="utf-8")
    _make_model(corpus, root / "model")
    return root / "model"


def _analysis(doc_id: str, sentiment: str, *, analyzer: str = "llm", quote: str | None = None, **extra) -> Analysis:
    text = TEXTS[doc_id]
    evidence = [Evidence(quote=quote, start=text.index(quote), end=text.index(quote) + len(quote))] if quote else []
    entity = WATCH[0] if "星辰" in text else WATCH[1]
    return Analysis(
        doc_id=doc_id, analyzer=analyzer, analyzer_version=f"{analyzer}-test", sentiment=sentiment,
        score={"positive": 0.6, "negative": -0.8, "neutral": 0.0}[sentiment],
        targets=[TargetSentiment(entity_id=entity.id, name=entity.name, sentiment=sentiment, score=0.0, evidence=evidence)],
        evidence=evidence, summary="摘要。", risk="high" if sentiment == "negative" else "low", created_at=datetime.now(UTC), **extra,
    )


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'y.db'}")
    migrate(engine)
    factory = session_factory(engine)
    with factory.begin() as s:
        upsert_documents(s, [
            CleanDocument(id=i, url=f"http://x/{i}", canonical_url=f"http://x/{i}", source="s", title=f"标题{i}", text=t,
                          crawled_at=datetime.now(UTC), content_hash=i.ljust(64, "0"), story_id="recall" if i == "reprint" else i,
                          duplicate_of="recall" if i == "reprint" else None, duplicate_kind="near" if i == "reprint" else None)
            for i, t in TEXTS.items()
        ])
        upsert_analysis(s, _analysis("recall", "positive", quote="星辰科技宣布召回两万台智能音箱"))  # the LLM got it wrong
        upsert_analysis(s, _analysis("growth", "positive", quote="远航汽车三季度营收同比增长百分之三十"))
        upsert_analysis(s, _analysis("unsure", "positive", low_confidence=True))
        upsert_analysis(s, _analysis("reprint", "negative", quote="星辰科技宣布召回两万台智能音箱"))
        upsert_analysis(s, _analysis("offline", "neutral", analyzer="offline-lexicon"))
        for field, entity, value in [("sentiment", None, "negative"), ("entity_sentiment", "xingchen", "negative"), ("risk", None, "high")]:
            s.add(FeedbackRow(doc_id="recall", field=field, entity_id=entity, old_value="positive", new_value=value, comment="",
                              created_by="analyst-li", created_at=datetime.now(UTC)))
    return factory


def test_export_sft_takes_corrections_and_only_trustworthy_llm_output(sessions, tmp_path):
    settings = LLMSettings(base_url="http://unused/v1")
    report = export_sft(sessions, tmp_path / "sft.jsonl", settings, WATCH)
    records = {r["id"]: r for r in map(json.loads, (tmp_path / "sft.jsonl").read_text(encoding="utf-8").splitlines())}
    assert sorted(records) == ["growth", "recall"] and (report.from_feedback, report.from_llm) == (1, 1)
    assert report.skipped == {"reprint": 1, "LLM analysis not confident or not fully verified": 1, "not an LLM analysis and not corrected": 1}
    corrected = LLMOutput.model_validate_json(records["recall"]["conversations"][1]["value"])
    assert (corrected.sentiment, corrected.risk) == ("negative", "high")
    assert [(t.name, t.sentiment, t.quotes) for t in corrected.targets] == [("星辰科技", "negative", [])]  # the old quote backed the wrong label
    # Exactly the prompts the analyzer sends, so the adapter learns the contract it will be asked for.
    prompts = PromptSet.load(settings.prompt_version)
    system, user = prompts.messages(prompts.system_message(WATCH), "标题growth", TEXTS["growth"])
    assert records["growth"]["system"] == system["content"]
    assert records["growth"]["conversations"][0] == {"from": "user", "value": user["content"]}


@pytest.mark.slow
def test_lora_training_learns_and_writes_an_adapter_vllm_can_load(sessions, tiny_model, tmp_path):
    data = tmp_path / "sft.jsonl"
    export_sft(sessions, data, LLMSettings(base_url="http://unused/v1"), WATCH)
    adapter = tmp_path / "adapter"
    summary = train(data, tiny_model, adapter, LoraOptions(rank=4, alpha=8, learning_rate=5e-3, max_steps=6, batch_size=2, max_length=4096))
    assert summary["examples"] == 2 and summary["steps"] == 6
    assert summary["last_loss"] < summary["first_loss"]  # the same two answers, seen repeatedly, get likelier
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 4
    assert set(config["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert (adapter / "adapter_model.safetensors").stat().st_size > 0

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    loaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model), adapter)
    assert any("lora_A" in name for name, _ in loaded.named_parameters())


@pytest.mark.slow
def test_transformers_backend_sends_the_same_prompts_and_validates_the_same_way(tiny_model):
    settings = LLMSettings(backend="transformers", model=str(tiny_model), max_output_tokens=64, temperature=0.0)
    analyzer = LLMAnalyzer(settings, WATCH)
    assert analyzer.version == f"llm-v2:transformers:{tiny_model}"
    # Random weights cannot write the schema: the answer fails validation twice and is a recorded failure, not a crash.
    with pytest.raises(InvalidModelOutput, match="twice"):
        analyzer.analyze("d1", "标题", TEXTS["recall"])


def test_transformers_backend_explains_a_missing_model(tmp_path):
    analyzer = LLMAnalyzer(LLMSettings(backend="transformers", model=str(tmp_path / "nothing")), WATCH)
    with pytest.raises(ConfigError, match="not a Hugging Face model directory"):
        analyzer.analyze("d1", "", TEXTS["recall"])


@pytest.mark.integration
@pytest.mark.slow
def test_vllm_serves_the_trained_adapter_with_the_analysis_schema(sessions, tmp_path):
    """The adapter goes straight into vLLM (--enable-lora) and answers within the output schema."""
    import openai

    from analysis.llm_output import response_format
    from tests.analysis.vllm_cpu import VLLMServer, VLLMSetupError, ensure_tiny_model

    try:
        base = ensure_tiny_model()
    except VLLMSetupError as exc:
        pytest.fail(f"the CPU vLLM environment could not be built: {exc}")
    data = tmp_path / "sft.jsonl"
    export_sft(sessions, data, LLMSettings(base_url="http://unused/v1"), WATCH)
    adapter = tmp_path / "adapter"
    train(data, base, adapter, LoraOptions(rank=8, alpha=16, max_steps=2, batch_size=2))
    lora_args = ["--enable-lora", "--lora-modules", f"yuqing-sft={adapter}", "--max-lora-rank", "8"]
    with VLLMServer(base, extra_args=lora_args, log_path=tmp_path / "vllm.log") as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="EMPTY", max_retries=0, timeout=300)
        served = {m.id: m for m in client.models.list().data}
        assert "yuqing-sft" in served
        prompts = PromptSet.load()
        messages = prompts.messages(prompts.system_message(WATCH), "标题", TEXTS["recall"])
        reply = client.chat.completions.create(
            model="yuqing-sft", messages=messages, max_tokens=6000, temperature=0.0, response_format=response_format()
        )
    assert reply.model == "yuqing-sft"
    LLMOutput.model_validate_json(reply.choices[0].message.content)  # random weights, but the grammar holds
