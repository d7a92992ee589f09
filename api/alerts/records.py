"""Alert rows as API models (also the webhook payload)."""

from __future__ import annotations

from api.schemas import AlertOut, AlertRuleOut
from yuqing.db.models import AlertRow, AlertRuleRow


def alert_out(row: AlertRow) -> AlertOut:
    return AlertOut.model_validate(row, from_attributes=True)


def rule_out(row: AlertRuleRow) -> AlertRuleOut:
    return AlertRuleOut.model_validate(row, from_attributes=True)
