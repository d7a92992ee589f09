from pathlib import Path

import pytest

from yuqing.errors import ConfigError
from yuqing.settings import configure, get_settings


def test_defaults_are_embedded(tmp_path):
    settings = configure(data_dir=tmp_path)
    assert settings.store_url == (tmp_path / "store").as_uri()
    assert settings.db_url == f"sqlite:///{tmp_path / 'yuqing.db'}"
    assert settings.analyzer == "offline"


def test_environment_with_nested_delimiter(monkeypatch):
    monkeypatch.setenv("YQ_LLM__BASE_URL", "http://vllm:8000/v1")
    monkeypatch.setenv("YQ_ASR__BEAM_SIZE", "3")
    settings = configure()
    assert settings.llm.base_url == "http://vllm:8000/v1"
    assert settings.asr.beam_size == 3


def test_yaml_config_file_with_watchlist(tmp_path: Path, monkeypatch):
    config = tmp_path / "yuqing.yaml"
    config.write_text(
        "watchlist:\n  - {id: alibaba, name: 阿里巴巴, aliases: [阿里, Alibaba, 阿里云]}\n"
        "object_store_url: s3://bucket/prefix\n",
        encoding="utf-8",
    )
    settings = configure(config)
    assert settings.watchlist[0].name == "阿里巴巴"
    assert set(settings.watchlist[0].names) == {"阿里巴巴", "阿里", "Alibaba", "阿里云"}
    assert settings.store_url == "s3://bucket/prefix"
    # the environment beats the file
    monkeypatch.setenv("YQ_OBJECT_STORE_URL", "s3://other/x")
    assert configure(config).store_url == "s3://other/x"


def test_bad_values_say_what_to_set(monkeypatch):
    monkeypatch.setenv("YQ_OBJECT_STORE_URL", "ftp://nope")
    with pytest.raises(ConfigError, match="file:// or s3://"):
        configure()


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        configure(tmp_path / "missing.yaml")


def test_settings_are_cached_until_reconfigured(tmp_path):
    first = configure(data_dir=tmp_path)
    assert get_settings() is first
    assert configure(data_dir=tmp_path / "b") is not first
