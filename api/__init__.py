"""Analyst report API (FastAPI)."""
