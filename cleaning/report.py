"""What one run of the clean job did, returned to the caller and kept under ``clean/_reports/``."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class CleanReport(BaseModel):
    run_id: str
    started_at: datetime
    since: date | None = None
    input_docs: int = Field(0, description="raw lines read this run, re-crawls and malformed lines included")
    cleaned_docs: int = Field(0, description="distinct documents cleaned from raw this run")
    carried_over_docs: int = Field(
        0, description="documents from earlier runs written again because their partition was rewritten (incremental)"
    )
    output_docs: int = Field(0, description="rows written under clean/ this run: cleaned plus carried over")
    dropped_by_reason: dict[str, int] = Field(default_factory=dict, description="raw lines not written, by reason")
    flagged_by_issue: dict[str, int] = Field(
        default_factory=dict, description="documents cleaned this run with each quality issue"
    )
    exact_duplicates: int = Field(0, description="exact duplicates in all of clean/ after this run")
    near_duplicates: int = Field(0, description="near duplicates in all of clean/ after this run")
    clusters: int = Field(0, description="stories with more than one member in all of clean/ after this run")
    index_rebuilt: bool = Field(False, description="the de-duplication index was rebuilt from clean/ (incremental)")
    partitions_written: list[str] = Field(default_factory=list)
    partitions_removed: list[str] = Field(default_factory=list)
    lsh_bands: int = 0
    lsh_rows: int = 0
    report_uri: str | None = None
    seconds: float = 0.0
