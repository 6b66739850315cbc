"""Persistence: SQLAlchemy 2 async models, repositories and Alembic migrations."""

from storage.engine import make_engine, make_sessionmaker
from storage.models.base import Base

__all__ = ["Base", "make_engine", "make_sessionmaker"]
