"""The daily report as Markdown, HTML, CSV or XLSX (JSON is the model itself)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook

from api.schemas import DailyReport, ReportRow

MEDIA_TYPES = {
    "json": "application/json",
    "markdown": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ROW_COLUMNS = list(ReportRow.model_fields)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.0f} %"


def _markdown_text(value: str) -> str:
    """Text from crawled pages must not break the Markdown table or start markup."""
    return " ".join(str(value).split()).replace("|", "\\|").replace("<", "&lt;")


_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.filters["pct"] = _pct
_env.filters["md"] = _markdown_text


def to_markdown(report: DailyReport) -> str:
    return _env.get_template("daily_report.md.j2").render(r=report)


def to_html(report: DailyReport) -> str:
    return _env.get_template("daily_report.html.j2").render(r=report)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()  # type: ignore[union-attr]
    text = str(value)
    # A cell starting with = + - @ is a formula to Excel; crawled titles must never run as one.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_csv(rows: list[ReportRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ROW_COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, c)) for c in ROW_COLUMNS])
    return "\ufeff" + buffer.getvalue()  # the BOM makes Excel read UTF-8 Chinese correctly


def to_xlsx(report: DailyReport, rows: list[ReportRow]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = f"documents {report.date}"
    sheet.append(ROW_COLUMNS)
    for row in rows:
        sheet.append([_cell(getattr(row, c)) for c in ROW_COLUMNS])
    entities = workbook.create_sheet("entities")
    columns = [
        "entity_id",
        "name",
        "mentions",
        "negative",
        "positive",
        "neutral",
        "negative_share",
        "previous_mentions",
        "previous_negative",
    ]
    entities.append(columns)
    for entity in report.by_entity:
        entities.append([getattr(entity, c) for c in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
