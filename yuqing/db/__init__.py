"""Database layer: SQLAlchemy 2 models, engine, Alembic migrations, repository functions."""

from yuqing.db.engine import make_engine, migrate, session_factory
from yuqing.db.models import Base

__all__ = ["Base", "make_engine", "migrate", "session_factory"]
