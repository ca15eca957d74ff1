"""What the audit log's hash chain costs (issue 20): audit rows/s written by parallel writers with the
chain trigger and with it switched off (the same run, alternating), and `audit_chain.verify` rows/s.

    python -m bench.bench_audit_chain [--admin-url URL] [--writers 8] [--rows 300] [--rounds 3]

The chain trigger takes an advisory lock held to commit, so writers of audit rows queue one behind
another; each writer here commits every row (the app writes one or two per request).
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, create_engine, text

from bench.scratch import ScratchDatabase
from checkpoint.core import audit_chain, db_roles
from checkpoint.core.migrate import upgrade

INSERT = text("INSERT INTO audit_log (at, actor_name, action, target, reason, detail, client_ip) "
              "VALUES (now(), 'bench', 'plate.search', :t, '案件 2026-118', '{\"matched\": 3}', '10.1.2.3')")


def write(engine: Engine, writers: int, rows: int) -> float:
    """Rows per second: `writers` threads each committing `rows` single-row transactions."""

    def one_writer(n: int) -> None:
        with engine.connect() as conn:
            for i in range(rows):
                conn.execute(INSERT, {"t": f"粤L{n:02d}{i:03d}"})
                conn.commit()

    started = time.perf_counter()
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(one_writer, range(writers)))
    return writers * rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--admin-url", default="postgresql+psycopg2://postgres@127.0.0.1:5432/test")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    scratch = ScratchDatabase.create(args.admin_url, "bench_audit_chain")
    try:
        admin = create_engine(scratch.url, pool_size=args.writers + 2)
        upgrade(admin)
        role = db_roles.prepare(admin, "bench-secret")
        app = create_engine(db_roles.runtime_url(scratch.url, role, "bench-secret"), pool_size=args.writers + 2)
        results: dict[str, list[float]] = {"chained": [], "unchained": []}
        for _ in range(args.rounds):
            for mode in ("chained", "unchained"):
                with admin.begin() as conn:
                    verb = "ENABLE" if mode == "chained" else "DISABLE"
                    conn.execute(text(f"ALTER TABLE audit_log {verb} TRIGGER audit_log_chain"))
                    if mode == "unchained":  # the columns are NOT NULL: give unchained rows a placeholder
                        conn.execute(text("ALTER TABLE audit_log ALTER prev_hash SET DEFAULT '', "
                                          "ALTER row_hash SET DEFAULT ''"))
                results[mode].append(write(app, args.writers, args.rows))
        with admin.begin() as conn:  # verify a chain of chained rows only: start it again
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            conn.execute(text("TRUNCATE audit_log"))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER USER"))
        write(app, args.writers, args.rows)
        started = time.perf_counter()
        report = audit_chain.verify(admin)
        verify_s = time.perf_counter() - started
        app.dispose()
        admin.dispose()
    finally:
        scratch.drop()
        with scratch.admin.connect() as conn:
            db_roles.drop_app_role(conn, scratch.name)
    print(json.dumps({
        "writers": args.writers, "rows_per_writer": args.rows,
        "chained_rows_per_s": [round(r) for r in results["chained"]],
        "unchained_rows_per_s": [round(r) for r in results["unchained"]],
        "ratio_chained_to_unchained": round(sum(results["chained"]) / sum(results["unchained"]), 2),
        "verify_rows": report.rows, "verify_ok": report.ok, "verify_rows_per_s": round(report.rows / verify_s),
    }, indent=1))


if __name__ == "__main__":
    main()
