"""Opening the store and running its migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ..config import database_url, normalise_url


class StoreError(RuntimeError):
    """The store cannot be opened or is not at the expected schema version."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


class Store:
    """One database: an engine, a session factory and the Alembic migrations shipped in the package."""

    def __init__(self, url: str | None = None, *, echo: bool = False):
        self.url = normalise_url(url or database_url())
        if self.url.startswith("sqlite:///") and not self.url.startswith("sqlite:///:memory:"):
            Path(self.url[len("sqlite:///") :]).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(self.url, echo=echo, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # every unit of work is audited (services.audit_hooks); imported here, not at the top, because
        # the services build on the store (the store package itself imports no service)
        from ..services import audit_hooks

        audit_hooks.install(self._sessions)

    # --- migrations -------------------------------------------------------------------------
    def _alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files("medcyber.store") / "migrations"))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["engine"] = self.engine
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        command.upgrade(self._alembic_config(), revision)

    def downgrade(self, revision: str) -> None:
        command.downgrade(self._alembic_config(), revision)

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def check(self) -> None:
        """Raise StoreError unless the database answers and is at the head revision."""
        try:
            current = self.current_revision()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open the store at {self.safe_url}: {exc.__class__.__name__}") from exc
        head = self.head_revision()
        if current != head:
            raise StoreError(
                f"the store at {self.safe_url} is at schema {current or 'none'}, expected {head}: "
                "run `medcyber db init`"
            )

    @property
    def safe_url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    # --- sessions ---------------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back entirely on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str | None = None, *, migrate: bool = True) -> Store:
    """Open (and by default create or upgrade) the store."""
    store = Store(url)
    if migrate:
        store.upgrade()
    return store
