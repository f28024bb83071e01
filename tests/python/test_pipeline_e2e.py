"""End to end: the real generator and a real `dbt build` on a small dataset with dirty rows."""

from __future__ import annotations

import duckdb
import pytest

from dbt_harness import query, scalar

RAW_TABLES = {
    "events": ("stg_app__events", "stg_app__events_quarantine"),
    "experiment_assignments": (
        "stg_app__experiment_assignments",
        "stg_app__experiment_assignments_quarantine",
    ),
    "orders": ("stg_shop__orders", "stg_shop__orders_quarantine"),
    "order_items": ("stg_shop__order_items", "stg_shop__order_items_quarantine"),
    "products": ("stg_shop__products", "stg_shop__products_quarantine"),
    "customers": ("stg_crm__customers", "stg_crm__customers_quarantine"),
    "survey_responses": ("stg_crm__survey_responses", "stg_crm__survey_responses_quarantine"),
    "consents": ("stg_privacy__consents", "stg_privacy__consents_quarantine"),
    "deletion_requests": (
        "stg_privacy__deletion_requests",
        "stg_privacy__deletion_requests_quarantine",
    ),
}


def test_dbt_build_passes_every_model_and_test(dirty_demo):
    run = dirty_demo["run"]
    assert run.returncode == 0, run.output[-5000:]
    results = run.results()
    assert len(results) > 200  # models, data tests and unit tests all ran
    assert run.failures() == []
    kinds = {r["unique_id"].split(".")[0] for r in results}
    assert {"model", "test", "unit_test"} <= kinds


@pytest.mark.parametrize("table", sorted(RAW_TABLES))
def test_every_raw_row_is_accepted_or_quarantined(dirty_demo, table):
    """Rows in the raw files = rows accepted + rows quarantined, counted independently."""
    raw_files = sorted((dirty_demo["raw"] / table).glob("*.parquet"))
    assert raw_files, f"the generator wrote no {table} file"
    with duckdb.connect() as connection:
        rows_in = connection.execute(
            "select count(*) from read_parquet(?)", [[str(f) for f in raw_files]]
        ).fetchone()[0]
    accepted, quarantined = RAW_TABLES[table]
    db = dirty_demo["db"]
    rows_accepted = scalar(db, f"select count(*) from {accepted}")
    rows_quarantined = scalar(db, f"select count(*) from {quarantined}")
    assert rows_in == rows_accepted + rows_quarantined
    assert rows_accepted > 0


def test_every_injected_bad_row_is_quarantined_with_its_reason(dirty_demo):
    truth = dirty_demo["truth"] / "dirty_rows.parquet"
    db = dirty_demo["db"]
    expected = query(
        db,
        f"""
        select "table", source_file, source_row, expected_reason
        from read_parquet('{truth}')
        where expected_outcome = 'quarantine'
        """,
    )
    assert len(expected) > 50
    reasons_seen = {row[3] for row in expected}
    assert {
        "missing_primary_key",
        "unparseable_timestamp",
        "future_timestamp",
        "negative_amount",
        "negative_quantity",
        "negative_price",
        "invalid_status",
        "duplicate_key",
    } <= reasons_seen
    quarantined = {}
    for table, (_, quarantine_model) in RAW_TABLES.items():
        for source_file, source_row, reason in query(
            db, f"select source_file, source_row, reason from {quarantine_model}"
        ):
            quarantined[(table, source_file, source_row)] = reason
    wrong = [
        (table, source_file, source_row, reason, quarantined.get((table, source_file, source_row)))
        for table, source_file, source_row, reason in expected
        if quarantined.get((table, source_file, source_row)) != reason
    ]
    assert wrong == [], f"{len(wrong)} injected rows not quarantined as expected: {wrong[:10]}"
    # and nothing clean was quarantined: every quarantined row was injected
    assert len(quarantined) == len(expected)


def test_unknown_event_types_are_kept_as_other_and_counted(dirty_demo):
    db = dirty_demo["db"]
    truth = dirty_demo["truth"] / "dirty_rows.parquet"
    injected = scalar(
        db,
        f"""select count(*) from read_parquet('{truth}')
        where expected_reason = 'unknown_event_type'""",
    )
    assert injected > 0
    staged_other = scalar(
        db,
        f"""
        select count(*)
        from read_parquet('{truth}') as truth
        inner join stg_app__events as events
            on events._source_file = truth.source_file and events._source_row = truth.source_row
        where truth.expected_reason = 'unknown_event_type' and events.event_type = 'other'
        """,
    )
    assert staged_other == injected
    counted = scalar(
        db,
        """select sum(row_count) from raw_row_accounting
        where source_table = 'events' and reason = 'kept_as_other_event_type'""",
    )
    assert counted == injected


def test_timestamps_with_offsets_are_converted_to_utc(dirty_demo):
    db = dirty_demo["db"]
    truth = dirty_demo["truth"] / "dirty_rows.parquet"
    rows = query(
        db,
        f"""
        select
            cast(truth.expected_utc_timestamp as timestamp) as expected_at,
            events.occurred_at
        from read_parquet('{truth}') as truth
        inner join stg_app__events as events
            on events._source_file = truth.source_file and events._source_row = truth.source_row
        where truth.expected_reason = 'timestamp_with_offset'
        """,
    )
    assert len(rows) > 0
    assert all(expected == actual for expected, actual in rows), rows[:5]


def test_demo_database_holds_staging_quarantine_and_accounting(dirty_demo):
    tables = {
        name
        for (name,) in query(
            dirty_demo["db"],
            "select table_name from information_schema.tables where table_schema = 'main'",
        )
    }
    for accepted, quarantined in RAW_TABLES.values():
        assert accepted in tables and quarantined in tables
    assert {"raw_row_accounting", "stg_observation_window", "int_events_permitted"} <= tables


def test_normal_values_around_dirty_rows_flag_no_outlier(dirty_demo):
    """The generator's values are normal apart from the extremes and test orders it plants (its
    dirt is quarantined, not extreme): the outlier fences are judged for every busy group and
    flag nothing else; the small groups are not judged."""
    db = dirty_demo["db"]
    truth = dirty_demo["truth"]
    unplanted = query(
        db,
        f"""
        with flags as (
            select source_table, row_key from stg_shop__outlier_flags
            union all
            select source_table, row_key from stg_app__outlier_flags
        ),
        planted as (
            select "table" as source_table, coalesce(event_id, order_id) as row_key
            from read_parquet('{truth / "outliers.parquet"}')
            union all
            select source_table, order_id
            from read_parquet('{truth / "internal_accounts.parquet"}'),
                (values ('orders'), ('order_items')) as tables(source_table)
            where kind = 'test_order'
        )
        select * from flags
        where (source_table, row_key) not in (select (source_table, row_key) from planted)""",
    )
    assert unplanted == []
    assert scalar(db, "select count(*) from stg_shop__outlier_flags") > 0  # the planted ones
    judged = {
        (table, column)
        for table, column in query(
            db,
            "select source_table, column_name from data_quality_profile "
            "where fence_status = 'judged'",
        )
    }
    assert {
        ("orders", "total_amount"),
        ("order_items", "quantity"),
        ("order_items", "unit_price"),
        ("products", "price"),
        ("events", "engaged_seconds"),
        ("events", "scroll_depth_pct"),
        ("events", "revenue"),
    } <= judged
    small = query(
        db,
        "select count(*) from data_quality_profile "
        "where fence_status = 'too_few_values' and lower_fence is not null",
    )
    assert small == [(0,)]


def test_as_of_is_derived_from_the_data_not_the_clock(dirty_demo):
    db = dirty_demo["db"]
    as_of, source = query(db, "select as_of_date, as_of_source from stg_observation_window")[0]
    latest_clean = scalar(
        db,
        """
        select max(d) from (
            select max(occurred_date) as d from stg_app__events
            where occurred_at < (select observation_end_at from stg_observation_window)
            union all
            select max(ordered_date) from stg_shop__orders
        )
        """,
    )
    generation = __import__("json").loads((dirty_demo["truth"] / "generation.json").read_text())
    assert source == "data"
    assert str(as_of) == generation["end_date"]
    assert as_of == latest_clean


def test_no_raw_email_or_phone_anywhere_in_the_database(dirty_demo):
    """PII is hashed at the door: no raw email or phone survives in any model."""
    db = dirty_demo["db"]
    with duckdb.connect(str(db), read_only=True) as connection:
        raw_emails = {
            e
            for (e,) in connection.sql(
                f"select email from read_parquet('{dirty_demo['raw']}/customers/*.parquet') "
                "where email is not null"
            ).fetchall()
        }
        columns = connection.sql(
            """
            select table_name, column_name from information_schema.columns
            where table_schema = 'main' and data_type = 'VARCHAR'
            """
        ).fetchall()
        leaks = []
        for table, column in columns:
            found = connection.execute(
                f'select count(*) from main."{table}" where "{column}" like \'%@%\''
            ).fetchone()[0]
            if found:
                leaks.append((table, column, found))
    assert raw_emails, "the demo has customers with emails"
    assert leaks == []


def test_deleted_and_unconsented_persons_are_kept_out_downstream(dirty_demo):
    db = dirty_demo["db"]
    requested = [r for (r,) in query(db, "select subject_id from stg_privacy__deletion_requests")]
    assert requested
    ids = ", ".join(f"'{r}'" for r in requested)
    leaked = scalar(
        db,
        f"""
        select count(*) from int_events_permitted
        where anonymous_id in ({ids}) or user_id in ({ids})""",
    )
    assert leaked == 0
    # Every permitted event belongs to a person whose analytics consent is in force, and no
    # event of a person with a refusal on any of its ids is used.
    refused = scalar(
        db,
        """
        select count(*) from int_events_permitted as events
        inner join int_person_consents as consents
            on events.person_id = consents.person_id and consents.purpose = 'analytics'
        where not consents.is_granted""",
    )
    assert refused == 0
    excluded = dict(
        query(
            db,
            """select exclusion_reason, row_count from int_privacy_exclusions
                                 where source_table = 'events'""",
        )
    )
    assert excluded.get("deletion_request", 0) > 0
    assert excluded.get("analytics_consent_refused_by_person", 0) > 0
    orders_of_deleted = scalar(
        db,
        f"""
        select count(*) from int_orders_permitted where customer_id in ({ids})""",
    )
    assert orders_of_deleted == 0


def test_hand_written_baseline_computes_exactly_the_core_marts(dirty_demo, tmp_path):
    """The benchmark's baseline script (python_utils/sql/baseline.sql) is only a fair yardstick
    if it computes the same rows as sessions, customer_rfm and customer_engagement: on dirty
    input, every column of every row agrees, both ways."""
    from python_utils.bench_pipeline import BASELINE_TABLES, compare_baseline, run_baseline

    as_of = str(scalar(dirty_demo["db"], "select as_of_date from stg_observation_window"))
    baseline_db = tmp_path / "baseline.duckdb"
    run_baseline(str(dirty_demo["raw"]), as_of, str(baseline_db))
    comparison = compare_baseline(str(baseline_db), str(dirty_demo["db"]))
    assert set(comparison) == set(BASELINE_TABLES)
    for mart, counts in comparison.items():
        assert counts["rows"] > 0, mart
        assert counts["only_dbt"] == counts["only_baseline"] == 0, (mart, counts)
