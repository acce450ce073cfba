"""Embedded PostgreSQL for machines without a DATABASE_URL.

The server (the ``pgserver`` package: a PostgreSQL build shipped as a wheel) keeps its data in
``.pgdata/`` at the project root, is started on first use and left running so that later
commands reuse it. Start-up is serialised by an exclusive ``flock`` on ``.pgdata.lock`` (and by
pgserver's own inter-process lock), so two commands started at once neither double-start nor
corrupt it: the second one waits, then finds the server running.
"""

from __future__ import annotations

import fcntl
import os
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = BASE_DIR / ".pgdata"
DATABASE_NAME = "jointlend"

# Settings applied once to a new cluster: a batch system that COPYs millions of rows wants more
# memory than PostgreSQL's defaults. Durability settings stay at their safe defaults.
_TUNING = {
    "shared_buffers": "512MB",
    "work_mem": "64MB",
    "maintenance_work_mem": "256MB",
    "max_wal_size": "4GB",
    "max_connections": "200",
    # A development cluster: a crash may lose the last few commits, never corrupt data.
    "synchronous_commit": "off",
}


def _socket_settings(uri: str) -> dict:
    parsed = urlparse(uri)
    query = parse_qs(parsed.query)
    return {
        "HOST": query.get("host", [""])[0],
        "PORT": str(parsed.port or ""),
        "USER": parsed.username or "postgres",
    }


def ensure_running(data_dir: Path | None = None) -> dict:
    """Start the embedded server if needed; return Django connection settings for it."""
    data_dir = Path(os.environ.get("EMBEDDED_PG_DIR", data_dir or DEFAULT_DATA_DIR))
    data_dir.mkdir(parents=True, exist_ok=True)
    lock_path = data_dir.parent / (data_dir.name + ".lock")
    with open(lock_path, "a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            with warnings.catch_warnings():
                # platformdirs warns when XDG_RUNTIME_DIR is unset (it falls back to /tmp).
                warnings.simplefilter("ignore")
                import pgserver  # lazily: only machines without DATABASE_URL need it

            fresh = not (data_dir / "PG_VERSION").exists()
            server = pgserver.get_server(data_dir, cleanup_mode=None)
            conn = _socket_settings(server.get_uri())
            if fresh:
                for name, value in _TUNING.items():
                    server.psql(f"ALTER SYSTEM SET {name} = '{value}';")
                # shared_buffers and max_connections need a restart to take effect.
                _restart(server, data_dir)
                server = pgserver.get_server(data_dir, cleanup_mode=None)
                conn = _socket_settings(server.get_uri())
            exists = server.psql(
                f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"
            )
            if "(1 row)" not in exists:
                server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    return {"NAME": DATABASE_NAME, "PASSWORD": "", **conn}


def _restart(server, data_dir: Path) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", "stop"], pgdata=data_dir, user=server.system_user)
    type(server)._instances.pop(data_dir, None)
