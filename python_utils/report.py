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
    (
        "deletion_requests",
        "stg_privacy__deletion_requests",
        "stg_privacy__deletion_requests_quarantine",
    ),
    (
        "experiment_assignments",
        "stg_app__experiment_assignments",
        "stg_app__experiment_assignments_quarantine",
    ),
]


def summarize(database: Path, truth: Path | None = None) -> str:
    """Where the results are and what happened to the raw rows, as text; with the generator's
    ground truth (``truth``, when it exists), how well the build found the planted CRM
    duplicates and outliers."""
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
            "select source_table, coalesce(purpose, '-'), exclusion_reason, row_count "
            "from main.int_privacy_exclusions order by 1, 2, 3"
        ).fetchall()
        lines.append("")
        lines.append("Rows kept out downstream (consent, deletion, observation window):")
        lines.append(f"  {'raw table':<24}{'purpose':<12}{'reason':<38}{'rows':>10}")
        for table, purpose, reason, count in excluded or [("-", "-", "nothing", 0)]:
            lines.append(f"  {table:<24}{purpose:<12}{reason:<38}{count:>10,}")
        lines.append("")
        lines.extend(persons_kept_out(connection))
        lines.append("")
        lines.extend(activation_summary(connection))
        if truth is not None and (truth / "crm_duplicates.parquet").exists():
            lines.append("")
            lines.extend(planted_cases(connection, truth))
    lines.append("")
    lines.append(f"Explore: open {database} in any DuckDB client; start with raw_row_accounting")
    lines.append("Docs:    make docs && .venv/bin/dbt docs serve")
    return "\n".join(lines)


def activation_summary(connection) -> list[str]:
    """Content decisions per slot (personalized share, the reasons of the defaults), journey
    messages by journey and step, suppressions by reason, and the holdout's size."""
    lines = ["Activation (docs/activation.md):"]
    slots = connection.execute("""
        select slot, count(*), avg(case when is_personalized then 1.0 else 0 end),
            count(distinct content_block_id)
        from main.content_decisions group by 1 order by 1""").fetchall()
    for slot, persons, share, blocks in slots:
        lines.append(
            f"  content {slot:<22}{persons:>8,} persons, {share:6.1%} personalized, {blocks} blocks"
        )
    holdout = connection.execute("""
        select count(*) filter (where variant = 'holdout'), count(*)
        from main.activation_holdout_assignments""").fetchone()
    lines.append(f"  activation holdout: {holdout[0]:,} of {holdout[1]:,} persons")
    sent = connection.execute("""
        select journey_id, step, channel, count(*) from main.activation_outbox
        group by all order by 1, 2""").fetchall()
    for journey, step, channel, count in sent:
        lines.append(f"  outbox     {journey} step {step} ({channel}): {count:,} messages")
    reasons = connection.execute("""
        select reason, count(*) from main.activation_suppressions
        group by 1 order by 2 desc, 1""").fetchall()
    if reasons:
        lines.append("  suppressed " + ", ".join(f"{r} {n:,}" for r, n in reasons))
    return lines


def persons_kept_out(connection) -> list[str]:
    """Persons of the identity graph kept out per consent purpose (the decision in force at the
    end of as_of, by what decided it) and the ids covered by deletion requests, as text lines."""
    rows = connection.execute("""
        select
            purpose,
            count(*) filter (where not is_granted) as refused,
            count(*) filter (where not is_granted and decision_basis = 'decision') as by_decision,
            count(*) filter (where not is_granted and decision_basis <> 'decision') as by_default,
            count(*) as persons
        from main.int_person_consents
        where is_in_identity_graph
        group by 1
        order by 1""").fetchall()
    deleted = connection.execute(
        "select count(distinct subject_hash) from main.int_privacy_deleted_subjects "
        "where id_type <> 'email'"
    ).fetchone()[0]
    lines = [
        "Persons kept out per consent purpose (of all persons; a refusal on any id counts):",
        f"  {'purpose':<18}{'kept out':>10}{'by decision':>13}{'by default':>12}{'persons':>10}",
    ]
    effects = {
        "analytics": "no event used",
        "personalization": "default content only",
        "marketing": "in no feed; suppressed by hash",
    }
    for purpose, refused, by_decision, by_default, persons in rows:
        lines.append(
            f"  {purpose:<18}{refused:>10,}{by_decision:>13,}{by_default:>12,}"
            f"{persons:>10,}  ({effects.get(purpose, '')})"
        )
    lines.append(f"  deletion requests cover {deleted:,} ids (dropped everywhere, logs included)")
    return lines


def planted_cases(connection, truth: Path) -> list[str]:
    """Precision and recall of the CRM merges and recall of the outlier flags against the demo
    generator's planted cases (python_utils.identity_eval), as text lines."""
    from python_utils.identity_eval import (
        evaluate_identity,
        evaluate_outliers,
        format_identity_report,
        format_outlier_report,
    )

    lines = [f"Identity against the planted CRM cases ({truth}):"]
    lines += [
        "  " + line
        for line in format_identity_report(evaluate_identity(connection, truth)).splitlines()
    ]
    if (truth / "outliers.parquet").exists():
        lines += ["", "Outliers against the planted extremes:"]
        lines += [
            "  " + line
            for line in format_outlier_report(evaluate_outliers(connection, truth)).splitlines()
        ]
    return lines
