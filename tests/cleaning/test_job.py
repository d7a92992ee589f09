"""run_clean end to end on a local object store (see corpus.py for the cases)."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date
from pathlib import Path

import pytest

from cleaning.job import main, run_clean
from cleaning.results import read_clean_documents
from cleaning.text import clean_article
from tests.cleaning import corpus
from yuqing.contracts import CleanDocument
from yuqing.storage import LocalStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def first_run(spark, tmp_path_factory):
    store = corpus.build_store(tmp_path_factory.mktemp("clean-job") / "store")
    report = run_clean(spark, store.uri(), store.uri(), run_id="first")
    documents = {d.id: d for d in read_clean_documents(store.uri("clean"))}
    return store, report, documents


def _copy(store: LocalStore, destination: Path) -> LocalStore:
    shutil.copytree(store.root, destination)
    return LocalStore(destination)


def _parquet_files(store: LocalStore, folder: str = "clean") -> list[str]:
    """The data files of ``folder``'s date partitions (not those of the index under clean/_index/)."""
    return sorted(str(p.relative_to(store.root)) for p in (store.root / folder).glob("date=*/*.parquet"))


def test_report_counts_what_happened(first_run):
    store, report, _ = first_run
    assert report.input_docs == len(corpus.FIRST_RUN) + len(corpus.MALFORMED_LINES) + len(corpus.RECRAWL)
    assert report.cleaned_docs == report.output_docs == len(corpus.FIRST_RUN)
    assert report.dropped_by_reason == {"malformed": 2, "superseded_by_recrawl": 1}
    assert report.flagged_by_issue == {"too_short": 1, "mostly_non_text": 1}
    assert (report.exact_duplicates, report.near_duplicates, report.clusters) == (1, 2, 2)
    assert report.partitions_written == ["2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12"]
    assert (report.lsh_bands, report.lsh_rows) == (12, 5)
    stored = json.loads(store.get_bytes("clean/_reports/first.json"))
    assert stored == json.loads(report.model_dump_json())


def test_reprints_join_the_story_of_the_earliest_published_member(first_run):
    _, _, docs = first_run
    links = {doc_id: (d.story_id, d.duplicate_of, d.duplicate_kind) for doc_id, d in docs.items()}
    assert links["p9-original"] == ("p9-original", None, None)
    assert links["p1-exact-reprint"] == ("p9-original", "p9-original", "exact")  # boilerplate differed only
    assert links["p5-edited-reprint"] == ("p9-original", "p9-original", "near")
    # q-distinct was re-crawled with an extra line, so the undated copy of its old text is now a near duplicate.
    assert links["w-undated-reprint"] == ("q-distinct", "q-distinct", "near")
    singletons = set(docs) - {"p1-exact-reprint", "p5-edited-reprint", "w-undated-reprint"}
    assert all(links[doc_id] == (doc_id, None, None) for doc_id in singletons)
    assert docs["p1-exact-reprint"].content_hash == docs["p9-original"].content_hash
    assert docs["p5-edited-reprint"].content_hash != docs["p9-original"].content_hash


def test_text_is_clean_simplified_and_carries_its_transcript(first_run):
    _, _, docs = first_run
    assert docs["p9-original"].text == corpus.STORY_A.replace("新华社上海11月10日电 记者", "新华社上海11月10日电记者")
    for line in corpus.BOILERPLATE_LINES:
        assert all(line not in d.text for d in docs.values())
    assert "<p>" not in docs["p9-original"].text and "原标题" not in docs["p1-exact-reprint"].text
    assert docs["r-traditional"].text.startswith(corpus.STORY_C_SIMPLIFIED_PREFIX)
    assert docs["r-traditional"].title == "台北扩大公共自行车"
    video = docs["t-video"]
    assert video.text == f"{corpus.STORY_E}\n\n【音频转写】\n{corpus.TRANSCRIPT_E_SIMPLIFIED}"
    assert video.transcript_text == corpus.TRANSCRIPT_E_SIMPLIFIED  # the unreliable segment is not there
    assert video.media_sha256 == [corpus.MEDIA_SHA, corpus.FAILED_MEDIA_SHA]
    assert all("不应出现" not in d.text for d in docs.values())  # transcripts/_failed/ is never read
    assert docs["q-distinct"].text == clean_article(corpus.STORY_B_UPDATED)  # the latest crawl


def test_weak_documents_are_kept_with_their_issues_and_languages_detected(first_run):
    _, _, docs = first_run
    assert docs["s-short"].quality_issues == ["too_short"]
    assert docs["v-symbols"].quality_issues == ["mostly_non_text"]
    assert docs["p9-original"].quality_issues == []
    assert {docs[i].language for i in ("p9-original", "r-traditional", "t-video")} == {"zh"}
    assert docs["u-english"].language == "en" and docs["v-symbols"].language == "other"


def test_rerun_from_the_command_line_rewrites_the_same_documents(first_run, tmp_path, capsys):
    store, _, before = first_run
    copy = _copy(store, tmp_path / "store")
    files_before = _parquet_files(copy)
    handlers = logging.getLogger().handlers[:]
    try:
        assert main(["--input", copy.uri(), "--master", "local[2]", "--run-id", "again"]) == 0
    finally:
        logging.getLogger().handlers[:] = handlers
    printed = json.loads(capsys.readouterr().out)
    assert printed["run_id"] == "again" and printed["output_docs"] == len(before)
    after = {d.id: d for d in read_clean_documents(copy.uri("clean"))}
    assert after == before
    assert len(_parquet_files(copy)) == len(files_before) == 4  # one file per partition, replaced not added
    assert copy.exists("clean/_reports/first.json") and copy.exists("clean/_reports/again.json")


def _index_links(store: LocalStore) -> dict[str, tuple[str | None, ...]]:
    """Story links as the de-duplication index under clean/_index/ holds them."""
    import pyarrow.dataset as ds

    index = ds.dataset(store.root / "clean" / "_index", format="parquet", partitioning="hive")
    rows = index.to_table(columns=["id", "story_id", "duplicate_of", "duplicate_kind"]).to_pylist()
    return {row["id"]: (row["story_id"], row["duplicate_of"], row["duplicate_kind"]) for row in rows}


def _links(documents: dict[str, CleanDocument]) -> dict[str, tuple[str | None, ...]]:
    return {i: (d.story_id, d.duplicate_of, d.duplicate_kind) for i, d in documents.items()}


@pytest.mark.parametrize("index", ["stored", "rebuilt"])
def test_incremental_run_links_new_documents_to_earlier_ones_and_keeps_the_rest(spark, first_run, tmp_path, index):
    store, _, before = first_run
    copy = _copy(store, tmp_path / "store")
    assert _index_links(copy) == _links(before)
    if index == "rebuilt":  # output from before the index existed: the run rebuilds it from clean/
        shutil.rmtree(copy.root / "clean" / "_index")
    late = [
        # Found today, published before p9-original: it becomes the canonical member of that story.
        corpus.raw("x-earliest-copy", corpus.STORY_A, published="2026-11-09T00:00:00", crawled="2026-11-13T01:00:00"),
        # Re-crawls that found publication dates: both leave the 2026-11-12 partition, which empties.
        corpus.raw("v-symbols", corpus.SYMBOLS, published="2026-11-08T01:00:00", crawled="2026-11-13T01:00:00"),
        corpus.raw("w-undated-reprint", corpus.STORY_B, published="2026-11-11T01:00:00", crawled="2026-11-13T01:00:00"),
    ]
    corpus.write_raw(copy, "2026-11-13", "run-3", late)

    report = run_clean(spark, copy.uri(), copy.uri(), since=date(2026, 11, 13), run_id="late")

    assert (report.input_docs, report.cleaned_docs, report.carried_over_docs) == (3, 3, 8)
    assert report.index_rebuilt == (index == "rebuilt")
    assert report.partitions_removed == ["2026-11-12"]
    assert not (copy.root / "clean" / "date=2026-11-12").exists()
    assert not (copy.root / "clean" / "_index" / "date=2026-11-12").exists()
    assert (report.exact_duplicates, report.near_duplicates, report.clusters) == (2, 2, 2)
    after = {d.id: d for d in read_clean_documents(copy.uri("clean"))}
    assert _index_links(copy) == _links(after)
    assert set(after) == set(before) | {"x-earliest-copy"}
    story_a = {"p9-original": "exact", "p1-exact-reprint": "exact", "p5-edited-reprint": "near"}
    for doc_id, kind in story_a.items():
        assert (after[doc_id].duplicate_of, after[doc_id].duplicate_kind) == ("x-earliest-copy", kind)
    assert after["x-earliest-copy"].story_id == "x-earliest-copy" and after["x-earliest-copy"].duplicate_of is None
    assert after["w-undated-reprint"].published_at is not None
    unchanged = set(before) - set(story_a) - {"v-symbols", "w-undated-reprint"}
    assert all(after[i] == before[i] for i in unchanged)


def test_a_later_run_judges_new_documents_against_the_index_alone(spark, tmp_path):
    store = LocalStore(tmp_path / "store")
    earlier = [
        corpus.raw("original", corpus.STORY_A, published="2026-11-10T02:00:00", crawled="2026-11-10T03:00:00"),
        corpus.raw("other", corpus.STORY_B, published="2026-11-09T02:00:00", crawled="2026-11-10T03:00:00"),
    ]
    corpus.write_raw(store, "2026-11-10", "run-1", earlier)
    run_clean(spark, store.uri(), store.uri(), since=date(2026, 11, 10), run_id="day-1")
    before = {d.id: d for d in read_clean_documents(store.uri("clean"))}
    reprints = [
        corpus.raw("edited-reprint", corpus.STORY_A_EDITED, published="2026-11-11T02:00:00",
                   crawled="2026-11-11T03:00:00"),
        corpus.raw("exact-reprint", corpus.STORY_A + "\n责任编辑：王小明", published="2026-11-11T04:00:00",
                   crawled="2026-11-11T05:00:00"),
    ]  # fmt: skip
    corpus.write_raw(store, "2026-11-11", "run-2", reprints)

    # The earlier documents' files are made unreadable: opening any of them would fail the run.
    files = [store.root / name for name in _parquet_files(store)]
    saved = {path: path.read_bytes() for path in files}
    for path in files:
        path.write_bytes(b"not parquet")
    try:
        report = run_clean(spark, store.uri(), store.uri(), since=date(2026, 11, 11), run_id="day-2")
    finally:
        for path, data in saved.items():
            path.write_bytes(data)

    assert (report.cleaned_docs, report.carried_over_docs, report.output_docs) == (2, 0, 2)
    assert report.partitions_written == ["2026-11-11"] and report.partitions_removed == []
    assert not report.index_rebuilt
    assert (report.exact_duplicates, report.near_duplicates, report.clusters) == (1, 1, 1)
    after = {d.id: d for d in read_clean_documents(store.uri("clean"))}
    assert _links(after) == {
        "original": ("original", None, None),
        "other": ("other", None, None),
        "edited-reprint": ("original", "original", "near"),
        "exact-reprint": ("original", "original", "exact"),
    }
    assert {i: after[i] for i in before} == before
    assert _index_links(store) == _links(after)


def test_an_empty_store_writes_only_a_report(spark, tmp_path):
    store = LocalStore(tmp_path / "store")
    report = run_clean(spark, store.uri(), store.uri(), run_id="empty")
    assert report.input_docs == report.output_docs == 0
    assert list(store.list_keys("clean/")) == ["clean/_reports/empty.json"]


def test_clean_documents_validate_against_the_contract(first_run):
    _, _, docs = first_run
    for document in docs.values():
        assert CleanDocument.model_validate(document.model_dump()) == document


def test_an_incremental_run_at_another_threshold_is_refused_until_everything_is_relinked(spark, tmp_path, capsys):
    store = LocalStore(tmp_path / "store")
    corpus.write_raw(store, "2026-11-10", "run-1", [
        corpus.raw("original", corpus.STORY_A, published="2026-11-10T02:00:00", crawled="2026-11-10T03:00:00"),
    ])
    run_clean(spark, store.uri(), store.uri(), since=date(2026, 11, 10), run_id="day-1", threshold=0.8)
    corpus.write_raw(store, "2026-11-11", "run-2", [
        corpus.raw("edited-reprint", corpus.STORY_A_EDITED, published="2026-11-11T02:00:00", crawled="2026-11-11T03:00:00"),
    ])

    # Linking day 2 at 0.9 against links made at 0.8 would mix two meanings of "reprint".
    handlers = logging.getLogger().handlers[:]
    try:
        assert main(["--input", store.uri(), "--since", "2026-11-11", "--threshold", "0.9", "--run-id", "day-2"]) == 2
    finally:
        logging.getLogger().handlers[:] = handlers
    message = capsys.readouterr().err
    assert "linked at a near-duplicate threshold of 0.8" in message and "re-run without --since" in message
    assert not store.exists("clean/_reports/day-2.json")

    # The run the message asks for re-links everything at the new threshold; later runs at it are accepted.
    run_clean(spark, store.uri(), store.uri(), run_id="all", threshold=0.9)
    report = run_clean(spark, store.uri(), store.uri(), since=date(2026, 11, 11), run_id="day-2", threshold=0.9)
    assert report.cleaned_docs == 1
