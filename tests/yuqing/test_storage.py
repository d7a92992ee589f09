import pytest

from yuqing.errors import ObjectNotFound
from yuqing.storage import LocalStore, S3Store, get_json, open_store, put_json


def _exercise(store):
    store.put_bytes("raw/docs/date=2026-11-12/run-1.jsonl", b'{"a": 1}\n')
    store.put_bytes("raw/docs/date=2026-11-13/run-2.jsonl", b'{"a": 2}\n')
    store.put_bytes("raw/media/ab.mp3", b"\x00" * 10)
    put_json(store, "transcripts/ab.json", {"text": "新华社"})

    assert store.get_bytes("raw/docs/date=2026-11-12/run-1.jsonl") == b'{"a": 1}\n'
    assert get_json(store, "transcripts/ab.json") == {"text": "新华社"}
    assert list(store.list_keys("raw/docs/")) == [
        "raw/docs/date=2026-11-12/run-1.jsonl",
        "raw/docs/date=2026-11-13/run-2.jsonl",
    ]
    assert store.exists("raw/media/ab.mp3")
    assert not store.exists("raw/media/missing.mp3")
    with store.local_file("raw/media/ab.mp3") as path:
        assert path.read_bytes() == b"\x00" * 10
    store.put_bytes("raw/media/ab.mp3", b"new")  # overwrite
    assert store.get_bytes("raw/media/ab.mp3") == b"new"
    store.delete("raw/media/ab.mp3")
    assert not store.exists("raw/media/ab.mp3")
    with pytest.raises(ObjectNotFound):
        store.get_bytes("raw/media/ab.mp3")
    with pytest.raises(ValueError):
        store.put_bytes("../escape", b"x")


def test_local_store(settings):
    store = open_store(settings)
    assert isinstance(store, LocalStore)
    _exercise(store)
    assert store.uri("clean").startswith("file:///")


@pytest.mark.integration
def test_s3_store_on_a_real_s3_server(s3_settings):
    store = open_store(s3_settings)
    assert isinstance(store, S3Store)
    _exercise(store)
    assert store.uri("clean") == f"s3a://{store.bucket}/yuqing/clean"


@pytest.mark.integration
def test_s3_lists_more_than_one_page(s3_settings):
    store = open_store(s3_settings)
    for i in range(1005):
        store.put_bytes(f"seen/src/{i:05d}.txt", b"x")
    assert len(list(store.list_keys("seen/src/"))) == 1005
