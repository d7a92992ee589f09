import pytest

from crawlers.sources import EXAMPLES_DIR, load_sources
from yuqing.errors import ConfigError


def test_shipped_sources_validate():
    demo = load_sources(EXAMPLES_DIR / "demo.yaml", {"base_url": "http://127.0.0.1:1"})
    assert [s.name for s in demo] == ["huaxia", "dongfang", "nanfeng"]
    assert demo[1].start[1].kind == "rss"
    examples = load_sources(EXAMPLES_DIR / "examples.yaml")
    assert examples and not any(s.tested for s in examples)


def test_errors_name_the_file_source_and_field(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: good\n    start: [{url: 'http://a'}]\n    article_patterns: ['x']\n"
                    "  - name: broken\n    start: [{url: 'http://b', kind: atom}]\n    article_patterns: ['(']\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    message = str(err.value)
    assert str(path) in message
    assert "source 'broken', field start/0/kind" in message
    assert "article_patterns" in message and "not a valid regex" in message


def test_missing_placeholder_and_bad_yaml(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("sources: [{name: a, start: [{url: '${base_url}/'}], article_patterns: [x]}]", encoding="utf-8")
    with pytest.raises(ConfigError, match="base_url"):
        load_sources(path)
    path.write_text("sources: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_sources(path)
