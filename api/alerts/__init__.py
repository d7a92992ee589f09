"""Alerts: spike detection (plain functions), rule evaluation against the database, webhook delivery."""
