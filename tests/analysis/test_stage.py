import json

from typer.testing import CliRunner

from yuqing.cli import app


def test_analyze_jsonl_keeps_input_order_and_survives_bad_lines(tmp_path):
    source = tmp_path / "docs.jsonl"
    lines = [
        {"id": "a", "title": "比亚迪销量创新高", "text": "比亚迪11月销量同比增长45%，创下历史新高。"},
        "this is not json",
        {"id": "b", "title": "华为遭遇诉讼", "text": "华为因专利纠纷被起诉，面临巨额索赔。"},
        {"id": "c", "title": "no text field"},
        {"id": "d", "title": "", "text": "今天北京天气晴，气温12度。"},
    ]
    source.write_text("\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    out = tmp_path / "out" / "analyses.jsonl"
    result = CliRunner().invoke(
        app, ["analyze", "--data-dir", str(tmp_path / "d"), "-i", str(source), "-o", str(out), "--watch", "比亚迪,华为"]
    )
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r.get("doc_id") or r.get("id") for r in records] == ["a", None, "b", "c", "d"]
    assert records[0]["sentiment"] == "positive"
    assert {t["name"]: t["sentiment"] for t in records[0]["targets"]} == {"比亚迪": "positive"}
    assert records[2]["sentiment"] == "negative"
    assert "error" in records[1] and "error" in records[3] and "text" in records[3]["error"]
    assert records[4]["sentiment"] == "neutral"
    assert "failed 2" in result.output


def test_analyze_requires_input_and_output_together(tmp_path):
    result = CliRunner().invoke(app, ["analyze", "--data-dir", str(tmp_path), "-i", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2
    assert "both --input and --output" in result.output
