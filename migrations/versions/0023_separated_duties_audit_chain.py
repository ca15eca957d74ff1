"""core: separated duties (security admin, approver), role grants, login throttle and sessions,
withdrawal requests, and the hash-chained audit log

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-08

三员分立: a supervisor used to be officer + admin; that admin could create a second account and approve
their own watches through it. Such users become officer + approver (admin dropped: approving and
administering are separate duties now). The audit log gets a hash chain: a BEFORE INSERT trigger takes
an advisory lock held to commit, numbers the row and hashes it with the previous row's hash, so the
chain follows commit order. Existing rows are chained here, in id order. A TRUNCATE trigger refuses
TRUNCATE; who may disable triggers is settled by ownership (core/db_roles.py), not here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0020"
branch_labels = None
depends_on = None

# The hashed text of one row: jsonb_build_array is canonical and keeps NULLs apart from empty strings.
ROW_HASH_FUNCTION = """
CREATE OR REPLACE FUNCTION checkpoint_audit_row_hash(prev text, r audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT encode(sha256(convert_to(jsonb_build_array(prev, r.id, extract(epoch FROM r.at), r.actor_id,
        r.actor_name, r.action, r.target, r.reason, r.detail, r.client_ip)::text, 'UTF8')), 'hex')
$$
"""

CHAIN_FUNCTION = """
CREATE OR REPLACE FUNCTION checkpoint_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    last_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(7262100023);  -- held to commit: one chain, in commit order
    NEW.id := nextval(pg_get_serial_sequence('audit_log', 'id'));
    SELECT row_hash INTO last_hash FROM audit_log ORDER BY id DESC LIMIT 1;
    NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
    NEW.row_hash := checkpoint_audit_row_hash(NEW.prev_hash, NEW);
    RETURN NEW;
END;
$$
"""

BACKFILL = """
DO $$
DECLARE
    r audit_log;
    prev text := repeat('0', 64);
    h text;
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        h := checkpoint_audit_row_hash(prev, r);
        UPDATE audit_log SET prev_hash = prev, row_hash = h WHERE id = r.id;
        prev := h;
    END LOOP;
END;
$$
"""

TRUNCATE_FUNCTION = """
CREATE OR REPLACE FUNCTION checkpoint_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: TRUNCATE refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def upgrade() -> None:
    op.add_column("app_user", sa.Column("created_by", sa.Integer(), nullable=True))
    op.add_column("app_user", sa.Column("password_set_by", sa.Integer(), nullable=True))
    op.add_column("app_user", sa.Column("totp_secret", sa.String(64), nullable=True))
    op.add_column("app_user", sa.Column("totp_enabled", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute("UPDATE app_user SET roles = array_append(array_remove(roles, 'admin'), 'approver') "
               "WHERE 'officer' = ANY(roles) AND 'admin' = ANY(roles)")

    op.create_table(
        "role_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_role_grant_user_id_app_user")),
        sa.ForeignKeyConstraint(["requested_by"], ["app_user.id"],
                                name=op.f("fk_role_grant_requested_by_app_user")),
        sa.ForeignKeyConstraint(["decided_by"], ["app_user.id"], name=op.f("fk_role_grant_decided_by_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grant")),
    )
    op.create_index(op.f("ix_role_grant_user_id"), "role_grant", ["user_id"], unique=False)
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "source", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "login_session",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("client_ip", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], name=op.f("fk_login_session_user_id_app_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_session")),
    )
    op.create_index(op.f("ix_login_session_user_id"), "login_session", ["user_id"], unique=False)

    op.add_column("watch_entry", sa.Column("withdraw_requested_by", sa.Integer(), nullable=True))
    op.add_column("watch_entry", sa.Column("withdraw_requested_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("watch_entry", sa.Column("withdraw_request_reason", sa.Text(), nullable=True))
    op.create_foreign_key(op.f("fk_watch_entry_withdraw_requested_by_app_user"), "watch_entry", "app_user",
                          ["withdraw_requested_by"], ["id"])

    op.add_column("audit_log", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("audit_log", sa.Column("row_hash", sa.String(64), nullable=True))
    op.execute(ROW_HASH_FUNCTION)
    op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    op.execute(BACKFILL)
    op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    op.alter_column("audit_log", "prev_hash", nullable=False)
    op.alter_column("audit_log", "row_hash", nullable=False)
    op.execute(CHAIN_FUNCTION)
    op.execute("CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log "
               "FOR EACH ROW EXECUTE FUNCTION checkpoint_audit_chain()")
    op.execute(TRUNCATE_FUNCTION)
    op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
               "FOR EACH STATEMENT EXECUTE FUNCTION checkpoint_no_truncate()")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS checkpoint_no_truncate()")
    op.execute("DROP TRIGGER IF EXISTS audit_log_chain ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS checkpoint_audit_chain()")
    op.execute("DROP FUNCTION IF EXISTS checkpoint_audit_row_hash(text, audit_log)")
    op.drop_column("audit_log", "row_hash")
    op.drop_column("audit_log", "prev_hash")
    op.drop_constraint(op.f("fk_watch_entry_withdraw_requested_by_app_user"), "watch_entry", type_="foreignkey")
    op.drop_column("watch_entry", "withdraw_request_reason")
    op.drop_column("watch_entry", "withdraw_requested_at")
    op.drop_column("watch_entry", "withdraw_requested_by")
    op.drop_index(op.f("ix_login_session_user_id"), table_name="login_session")
    op.drop_table("login_session")
    op.drop_table("login_throttle")
    op.drop_index(op.f("ix_role_grant_user_id"), table_name="role_grant")
    op.drop_table("role_grant")
    op.execute("UPDATE app_user SET roles = array_append(array_remove(roles, 'approver'), 'admin') "
               "WHERE 'approver' = ANY(roles)")
    op.drop_column("app_user", "totp_enabled")
    op.drop_column("app_user", "totp_secret")
    op.drop_column("app_user", "password_set_by")
    op.drop_column("app_user", "created_by")
