"""Who owns what in the database: the application never runs as the role that owns the audit log.

`prepare` (run after migrations, as the configured user, which must be a superuser or have CREATEROLE)
makes a login role `<database>_app` (per database: roles are cluster-wide), hands it every table,
sequence and view of the schema except `audit_log`, and grants it INSERT and SELECT on `audit_log`
only. The audit log stays with the configured user, which the running application does not use: the
application (`runtime_url`) connects as `<database>_app`, so it cannot UPDATE, DELETE, TRUNCATE, ALTER
or DROP the log, nor disable or drop its triggers (only an owner may). The app role owns the pass
tables, so it still creates and drops day partitions. Its password is derived from the secret key,
so every process of the site reaches it without another secret to distribute.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from sqlalchemy import Connection, Engine, make_url, text
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

AUDIT_TABLES = ("audit_log",)

OWNED_SQL = text("""
SELECT c.relname, c.relkind FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND pg_get_userbyid(c.relowner) <> :app
  AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')))
""")


def app_role(database: str) -> str:
    return f"{database}_app"[:63]


def app_password(secret_key: str, role: str) -> str:
    return hmac.new(secret_key.encode(), f"database-role:{role}".encode(), hashlib.sha256).hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def can_manage_roles(conn: Connection) -> bool:
    row = conn.execute(text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")).first()
    return bool(row and row[0])


def prepare(engine: Engine, secret_key: str) -> str | None:
    """Create or refresh the app role and ownership; its name, or None when the configured user may not
    manage roles (the application then runs as that user, and the audit log is protected by its
    triggers only: a warning says so)."""
    with engine.begin() as conn:
        if not can_manage_roles(conn):
            log.warning("core.audit_owner_not_separated", extra={
                "why": "the database user can neither create roles nor is superuser; the application "
                       "runs as the audit log's owner"})
            return None
        database = str(conn.execute(text("SELECT current_database()")).scalar())
        role = app_role(database)
        quoted = _quote(role)
        conn.execute(text("SELECT pg_advisory_xact_lock(7262100024)"))  # one process at a time
        exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
        verb = "ALTER" if exists else "CREATE"
        password = app_password(secret_key, role).replace("'", "")
        conn.execute(text(f"{verb} ROLE {quoted} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS "
                          f"PASSWORD '{password}'"))
        is_super = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar()
        if not is_super:  # to hand tables over, and to migrate them later, the owner stays a member
            conn.execute(text(f"GRANT {quoted} TO current_user"))
        conn.execute(text(f'GRANT CONNECT, TEMPORARY ON DATABASE {_quote(database)} TO {quoted}'))
        conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {quoted}"))
        conn.execute(text("SET LOCAL lock_timeout = '5s'"))  # a table in use is handed over at the next start
        for name, kind in conn.execute(OWNED_SQL, {"app": role}).all():
            if name in AUDIT_TABLES:
                continue
            what = {"S": "SEQUENCE", "v": "VIEW", "m": "MATERIALIZED VIEW"}.get(kind, "TABLE")
            try:
                with conn.begin_nested():
                    conn.execute(text(f"ALTER {what} {_quote(name)} OWNER TO {quoted}"))
            except OperationalError:
                log.warning("core.owner_not_changed", extra={"table": name, "why": "in use (lock timeout)"})
        for table in AUDIT_TABLES:
            conn.execute(text(f"REVOKE ALL ON {_quote(table)} FROM {quoted}"))
            conn.execute(text(f"GRANT INSERT, SELECT ON {_quote(table)} TO {quoted}"))
            conn.execute(text(f"GRANT USAGE, SELECT ON SEQUENCE {_quote(table + '_id_seq')} TO {quoted}"))
    return role


def runtime_url(database_url: str, role: str | None, secret_key: str) -> str:
    """The URL the running application uses: the app role's, when there is one."""
    if role is None:
        return database_url
    url = make_url(database_url).set(username=role, password=app_password(secret_key, role))
    return url.render_as_string(hide_password=False)


def drop_app_role(admin: Connection, database: str) -> None:
    """After its database is dropped (tests): the role holds nothing any more."""
    admin.execute(text(f"DROP ROLE IF EXISTS {_quote(app_role(database))}"))
