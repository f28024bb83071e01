"""A short, human-readable summary of a built DuckDB database (printed after `make demo`)."""

from __future__ import annotations

from pathlib import Path

import duckdb

STAGING_TABLES = [
    ("events", "stg_app__events", "stg_app__events_quarantine"),
    ("orders", "stg_shop__orders", "stg_shop__orders_quarantine"),
    ("order_items", "stg_shop__order_items", "stg_shop__order_items_quarantine"),
    ("products", "stg_shop__products", "stg_shop__products_quarantine"),
    ("customers", "stg_crm__customers", "stg_crm__customers_quarantine"),
    ("survey_responses", "stg_crm__survey_responses", "stg_crm__survey_responses_quarantine"),
    ("consents", "stg_privacy__consents", "stg_privacy__consents_quarantine"),
    ("deletion_requests", "stg_privacy__deletion_requests",
     "stg_privacy__deletion_requests_quarantine"),
    ("experiment_assignments", "stg_app__experiment_assignments",
     "stg_app__experiment_assignments_quarantine"),
]


def summarize(database: Path) -> str:
    """Where the results are and what happened to the raw rows, as text."""
    if not database.exists():
        raise FileNotFoundError(f"no database at {database}: run `make build` first")
    lines = [f"Results: {database.resolve()}"]
    with duckdb.connect(str(database), read_only=True) as connection:
        def one(sql: str):
            return connection.execute(sql).fetchone()

        as_of, source = one("select as_of_date, as_of_source from main.stg_observation_window")
        lines.append(f"Observation day (as_of): {as_of} (from the {source})")
        lines.append("")
        lines.append(f"{'raw table':<24}{'accepted':>12}{'quarantined':>13}  top reasons")
        for table, accepted, quarantined in STAGING_TABLES:
            n_accepted = one(f"select count(*) from main.{accepted}")[0]
            n_quarantined = one(f"select count(*) from main.{quarantined}")[0]
            reasons = connection.execute(
                f"select reason, count(*) from main.{quarantined} "
                "group by 1 order by 2 desc, 1 limit 3"
            ).fetchall()
            top = ", ".join(f"{reason} {count:,}" for reason, count in reasons)
            lines.append(f"{table:<24}{n_accepted:>12,}{n_quarantined:>13,}  {top}")
        excluded = connection.execute(
            "select source_table, exclusion_reason, count(*) from main.int_privacy_exclusions "
            "group by 1, 2 order by 1, 2"
        ).fetchall()
        lines.append("")
        lines.append("Kept out downstream (privacy and observation window):")
        for table, reason, count in excluded or [("-", "nothing", 0)]:
            lines.append(f"  {table:<24}{reason:<28}{count:>10,}")
    lines.append("")
    lines.append(f"Explore: open {database} in any DuckDB client; start with raw_row_accounting")
    lines.append("Docs:    make docs && .venv/bin/dbt docs serve")
    return "\n".join(lines)
