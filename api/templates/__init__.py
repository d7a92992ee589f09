"""Jinja2 templates of the daily report (a package so its files install with the wheel)."""
