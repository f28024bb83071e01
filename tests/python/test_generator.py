"""Tests for the demo-data generator (python_utils.generator and its CLI).

Everything runs on small datasets (a few hundred customers, 30 days) written
into pytest temp folders; the whole module takes a few seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from python_utils.generator import (  # noqa: E402
    CUSTOMER_PERSONAS,
    DIRTY_SPECS,
    DUPLICATE_KINDS,
    EVENT_TYPES,
    NEAR_MISS_KINDS,
    NEAR_MISS_SIZES,
    OUTLIER_KINDS,
    PERSONA_SHARES,
    SHAPES,
    TABLES,
    TRUTH_FILES,
    GenerationResult,
    GeneratorConfig,
    generate,
)

END = "2026-06-30"
WINDOW_START = "2026-06-01 00:00:00"  # 30 days ending 2026-06-30
WINDOW_END = "2026-06-30 23:59:59"

CONTRACT: dict[str, dict[str, str]] = {
    "events": {
        "event_id": "VARCHAR",
        "anonymous_id": "VARCHAR",
        "user_id": "VARCHAR",
        "event_type": "VARCHAR",
        "occurred_at": "VARCHAR",
        "page_url": "VARCHAR",
        "product_id": "VARCHAR",
        "category": "VARCHAR",
        "device_type": "VARCHAR",
        "channel": "VARCHAR",
        "utm_source": "VARCHAR",
        "utm_medium": "VARCHAR",
        "utm_campaign": "VARCHAR",
        "country": "VARCHAR",
        "city": "VARCHAR",
        "scroll_depth_pct": "DOUBLE",
        "engaged_seconds": "DOUBLE",
        "revenue": "DOUBLE",
    },
    "orders": {
        "order_id": "VARCHAR",
        "customer_id": "VARCHAR",
        "ordered_at": "VARCHAR",
        "status": "VARCHAR",
        "currency": "VARCHAR",
        "total_amount": "DOUBLE",
    },
    "order_items": {
        "order_id": "VARCHAR",
        "product_id": "VARCHAR",
        "quantity": "BIGINT",
        "unit_price": "DOUBLE",
    },
    "customers": {
        "customer_id": "VARCHAR",
        "email": "VARCHAR",
        "phone": "VARCHAR",
        "signup_at": "VARCHAR",
        "birth_year": "BIGINT",
        "gender": "VARCHAR",
        "country": "VARCHAR",
        "city": "VARCHAR",
        "postal_code": "VARCHAR",
        "loyalty_tier": "VARCHAR",
        "acquisition_channel": "VARCHAR",
    },
    "products": {
        "product_id": "VARCHAR",
        "category": "VARCHAR",
        "subcategory": "VARCHAR",
        "brand": "VARCHAR",
        "price": "DOUBLE",
    },
    "consents": {
        "subject_id": "VARCHAR",
        "purpose": "VARCHAR",
        "granted": "BOOLEAN",
        "recorded_at": "VARCHAR",
        "region": "VARCHAR",
    },
    "deletion_requests": {"subject_id": "VARCHAR", "requested_at": "VARCHAR"},
    "survey_responses": {
        "customer_id": "VARCHAR",
        "question": "VARCHAR",
        "answer": "VARCHAR",
        "responded_at": "VARCHAR",
    },
    "experiment_assignments": {
        "subject_id": "VARCHAR",
        "experiment_id": "VARCHAR",
        "variant": "VARCHAR",
        "assigned_at": "VARCHAR",
    },
}
#: main timestamp column per table
TIMESTAMPS = {
    "events": "occurred_at",
    "orders": "ordered_at",
    "customers": "signup_at",
    "consents": "recorded_at",
    "deletion_requests": "requested_at",
    "survey_responses": "responded_at",
    "experiment_assignments": "assigned_at",
}


# --------------------------------------------------------------------------- #
# fixtures
# --------------------------------------------------------------------------- #


@dataclass
class Dataset:
    """A generated dataset and where it lives."""

    cfg: GeneratorConfig
    result: GenerationResult

    @property
    def raw(self) -> Path:
        return Path(self.cfg.out)

    @property
    def truth(self) -> Path:
        return self.cfg.truth_dir

    def files(self, table: str) -> str:
        """DuckDB glob of a table's files."""
        return str(self.raw / table / f"*.{self.cfg.fmt}")

    def con(self) -> duckdb.DuckDBPyConnection:
        """In-memory DuckDB with one view per table plus ``personas`` and ``dirty``."""
        con = duckdb.connect()
        con.execute("set TimeZone = 'UTC'")
        for table in TABLES:
            reader = "read_parquet" if self.cfg.fmt == "parquet" else "read_csv"
            opts = (
                ", filename = true, file_row_number = true"
                if self.cfg.fmt == "parquet"
                else ", header = true, all_varchar = false"
            )
            con.execute(
                f"create view {table} as select * from {reader}('{self.files(table)}'{opts})"
            )
        con.execute(
            f"create view personas as select * from read_parquet('{self.truth / 'personas.parquet'}')"
        )
        con.execute(
            f"create view dirty as select * from read_parquet('{self.truth / 'dirty_rows.parquet'}')"
        )
        for name in (
            "crm_duplicates",
            "crm_near_misses",
            "internal_accounts",
            "outliers",
            "experiments",
        ):
            con.execute(
                f"create view {name} as select * from read_parquet('{self.truth / f'{name}.parquet'}')"
            )
        # the orders the planted cases leave alone: no test order, no outlier
        con.execute(
            """create view plain_orders as select * from orders
            where order_id not in (select order_id from outliers where order_id is not null)
            and order_id not in (select order_id from internal_accounts where order_id is not null)"""
        )
        return con


def make_dataset(base: Path, **overrides: object) -> Dataset:
    """Generate a small dataset under ``base/raw`` (truth in ``base/ground_truth``)."""
    params: dict[str, object] = dict(customers=300, days=30, seed=11, out=base / "raw", quiet=True)
    params.update(overrides)
    cfg = GeneratorConfig(**params)  # type: ignore[arg-type]
    return Dataset(cfg, generate(cfg))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """300 customers, 30 days, no dirty rows, events split into several files."""
    return make_dataset(tmp_path_factory.mktemp("clean"), events_per_file=2_500)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """Same size with ``dirty_rate=0.05`` and several event files."""
    return make_dataset(tmp_path_factory.mktemp("dirty"), dirty_rate=0.05, events_per_file=2_500)


@pytest.fixture(scope="module")
def larger(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """2,000 customers over 60 days: enough for stable behavioural statistics."""
    return make_dataset(tmp_path_factory.mktemp("larger"), customers=2_000, days=60, seed=3)


def _files_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


# --------------------------------------------------------------------------- #
# determinism and layout
# --------------------------------------------------------------------------- #


def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path: Path) -> None:
    kw = dict(customers=150, days=20, dirty_rate=0.05, events_per_file=1_500)
    a = make_dataset(tmp_path / "a", **kw)
    b = make_dataset(tmp_path / "b", **kw)
    c = make_dataset(tmp_path / "c", **{**kw, "seed": 12})
    raw_a, raw_b = _files_bytes(a.raw), _files_bytes(b.raw)
    assert len(raw_a) >= len(TABLES) + 1
    assert raw_a == raw_b
    assert not (a.truth / "drift.parquet").exists()  # written with --drift-from only
    for name in TRUTH_FILES:
        if name not in ("generation.json", "drift.parquet"):
            assert (a.truth / name).read_bytes() == (b.truth / name).read_bytes(), name
    meta_a, meta_b = (json.loads((d.truth / "generation.json").read_text()) for d in (a, b))
    for meta in (meta_a, meta_b):
        meta["parameters"].pop("out")
        meta["parameters"].pop("truth_out")
    assert meta_a == meta_b
    assert _files_bytes(c.raw)["events/part-00000.parquet"] != raw_a["events/part-00000.parquet"]


def test_layout_parts_and_generation_json(clean: Dataset) -> None:
    files = sorted(p.name for p in (clean.raw / "events").iterdir())
    assert len(files) >= 2
    assert files == [f"part-{i:05d}.parquet" for i in range(len(files))]
    for table in TABLES:
        assert (clean.raw / table / "part-00000.parquet").is_file()
    meta = json.loads((clean.truth / "generation.json").read_text())
    assert meta["end_date"] == END
    assert meta["parameters"]["customers"] == 300 and meta["parameters"]["seed"] == 11
    con = clean.con()
    for table in TABLES:
        assert (
            meta["row_counts"][table] == con.execute(f"select count(*) from {table}").fetchone()[0]
        )
    sizes = [
        con.execute(f"select count(*) from read_parquet('{clean.raw / 'events' / f}')").fetchone()[
            0
        ]
        for f in files
    ]
    assert all(s == 2_500 for s in sizes[:-1]) and 0 < sizes[-1] <= 2_500


def test_every_contract_table_and_column_with_types(clean: Dataset) -> None:
    con = clean.con()
    for table, columns in CONTRACT.items():
        described = con.execute(
            f"select column_name, column_type from (describe select * from read_parquet('{clean.files(table)}'))"
        ).fetchall()
        assert dict(described) == columns, table
        assert list(dict(described)) == list(columns), f"{table}: column order"


def test_id_formats(clean: Dataset) -> None:
    con = clean.con()
    checks = {
        "events": "regexp_full_match(event_id, 'E[0-9]{12}') and (anonymous_id is null or regexp_full_match(anonymous_id, 'A[0-9]{8}'))"
        " and (user_id is null or regexp_full_match(user_id, '[CG][0-9]{7}'))"
        " and (product_id is null or regexp_full_match(product_id, 'P[0-9]{4}'))",
        "orders": "regexp_full_match(order_id, 'O[0-9]{8}|TEST-[0-9]{6}')",
        "customers": "regexp_full_match(customer_id, '[CG][0-9]{7}')",
        "products": "regexp_full_match(product_id, 'P[0-9]{4}')",
    }
    for table, cond in checks.items():
        assert con.execute(f"select count(*) from {table} where not ({cond})").fetchone()[0] == 0, (
            table
        )
    # a G id is a planted duplicate record, a TEST- order a planted test order
    assert (
        con.execute(
            "select count(*) from customers where customer_id like 'G%' and customer_id not in (select customer_id from crm_duplicates)"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.execute(
            "select count(*) from orders where order_id like 'TEST-%' and order_id not in (select order_id from internal_accounts)"
        ).fetchone()[0]
        == 0
    )
    assert con.execute("select count(*) - count(distinct event_id) from events").fetchone()[0] == 0
    n_products, n_categories = con.execute(
        "select count(*), count(distinct category) from products"
    ).fetchone()
    assert 200 <= n_products <= 800 and n_categories == 8


# --------------------------------------------------------------------------- #
# personas
# --------------------------------------------------------------------------- #


def test_persona_mix_and_truth_coverage(clean: Dataset) -> None:
    con = clean.con()
    truth = dict(
        con.execute(
            """select persona, count(*) from personas where subject_type = 'customer'
        and subject_id not in (select customer_id from crm_duplicates) group by 1"""
        ).fetchall()
    )
    assert set(truth) == set(CUSTOMER_PERSONAS)
    assert sum(truth.values()) == 300
    # a duplicate record carries its original's persona (one human)
    assert (
        con.execute(
            """select count(*) from crm_duplicates d join personas dp on dp.subject_id = d.customer_id
        join personas op on op.subject_id = d.original_customer_id where dp.persona = op.persona"""
        ).fetchone()[0]
        == con.execute("select count(*) from crm_duplicates").fetchone()[0]
        > 0
    )
    for persona, share in zip(CUSTOMER_PERSONAS, PERSONA_SHARES):
        assert abs(truth[persona] / 300 - share) < 0.08, persona
    assert (
        con.execute(
            "select count(*) from customers c anti join personas p on p.subject_id = c.customer_id"
        ).fetchone()[0]
        == 0
    )
    anon = con.execute(
        "select count(*), min(persona), max(persona) from personas where subject_type = 'anonymous'"
    ).fetchone()
    assert anon == (150, "anonymous_browser", "anonymous_browser")
    # anonymous browsers never log in and have events
    assert (
        con.execute(
            "select count(*) from events e join personas p on p.subject_id = e.anonymous_id "
            "where p.persona = 'anonymous_browser' and e.user_id is not null"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.execute(
            "select count(distinct p.subject_id) from personas p join events e on e.anonymous_id = p.subject_id"
        ).fetchone()[0]
        == 150
    )


def test_personas_behave_differently(larger: Dataset) -> None:
    con = larger.con()
    con.execute(
        """create view ev_c as select e.*, p.persona, occurred_at::timestamp as ts
        from events e join personas p on p.subject_id = e.user_id"""
    )
    night = dict(
        con.execute(
            """select persona, avg(case when hour(ts) in (22, 23, 0, 1, 2) and device_type = 'mobile'
            then 1 else 0 end) from ev_c where anonymous_id is not null group by 1"""
        ).fetchall()
    )
    others = max(v for k, v in night.items() if k != "late_night_mobile")
    assert night["late_night_mobile"] > 0.4 and night["late_night_mobile"] > 4 * others

    aov = dict(
        con.execute(
            "select p.persona, avg(total_amount) from plain_orders o join personas p on p.subject_id = o.customer_id group by 1"
        ).fetchall()
    )
    assert aov["loyal_high_spender"] > 2.5 * aov["bargain_hunter"]

    sale = dict(
        con.execute(
            "select persona, avg(case when utm_campaign like 'sale_%' then 1 else 0 end) from ev_c group by 1"
        ).fetchall()
    )
    assert sale["bargain_hunter"] > 2 * max(v for k, v in sale.items() if k != "bargain_hunter")

    conversion = dict(
        con.execute(
            """select persona, sum(case when event_type = 'purchase' then 1 else 0 end)
            / sum(case when event_type = 'product_view' then 1 else 0 end) from ev_c group by 1"""
        ).fetchall()
    )
    assert conversion["window_shopper"] < 0.3 * conversion["loyal_high_spender"]

    engaged = dict(
        con.execute("select persona, avg(engaged_seconds) from ev_c group by 1").fetchall()
    )
    assert engaged["content_engager"] > 2 * engaged["bargain_hunter"]

    # recency: lapsed customers stopped well before the end, others are active until the end
    last = con.execute(
        f"""select persona, date_diff('day', max(ts), timestamp '{END} 23:59:59') as days_since
        from ev_c group by user_id, persona"""
    ).fetchall()
    lapsed = [d for p, d in last if p == "lapsed"]
    active = sorted(d for p, d in last if p in ("loyal_high_spender", "bargain_hunter"))
    assert min(lapsed) >= 0.5 * 60 - 2
    assert active[len(active) // 2] <= 10

    # new customers signed up within the last four weeks
    signup = con.execute(
        """select min(signup_at::timestamp), max(signup_at::timestamp) from customers c
        join personas p on p.subject_id = c.customer_id where p.persona = 'new_customer'"""
    ).fetchone()
    assert str(signup[0]) >= "2026-06-02" and str(signup[1]) <= f"{END} 23:59:59"
    old = con.execute(  # duplicate records (guest checkouts) are created in the window
        """select max(signup_at::timestamp) from customers c join personas p on p.subject_id = c.customer_id
        where p.persona <> 'new_customer' and c.customer_id like 'C%'"""
    ).fetchone()[0]
    assert str(old) < "2026-05-02"  # before the 60-day window


def test_survey_answers_correlate_with_persona(larger: Dataset) -> None:
    con = larger.con()
    share = dict(
        con.execute(
            """select p.persona, avg(case when answer = 'price' then 1 else 0 end)
            from survey_responses s join personas p on p.subject_id = s.customer_id
            where question = 'values' group by 1"""
        ).fetchall()
    )
    assert share["bargain_hunter"] > 0.5 > share["loyal_high_spender"]
    answered = con.execute("select count(distinct customer_id) from survey_responses").fetchone()[0]
    assert 0.2 * 2_000 < answered < 0.4 * 2_000


# --------------------------------------------------------------------------- #
# referential sanity and identity
# --------------------------------------------------------------------------- #


def test_orders_items_and_purchase_events_agree(clean: Dataset) -> None:
    con = clean.con()
    assert (
        con.execute(
            "select count(*) from order_items i anti join orders o using (order_id)"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.execute(
            "select count(*) from orders o anti join order_items i using (order_id)"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.execute(
            "select count(*) from order_items i anti join products p using (product_id)"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.execute(
            "select count(*) - count(distinct (order_id, product_id)) from order_items"
        ).fetchone()[0]
        == 0
    )
    # totals are the sum of the lines, except where an extreme total is planted on its own
    mismatched = {
        r[0]
        for r in con.execute(
            """select order_id from orders o join (
            select order_id, round(sum(quantity * unit_price), 2) as s from order_items group by 1
        ) i using (order_id) where abs(o.total_amount - i.s) > 0.001 or o.total_amount < 0"""
        ).fetchall()
    }
    planted = {
        r[0]
        for r in con.execute(
            "select order_id from outliers where \"table\" = 'orders' and kind = 'extreme_order_total'"
        ).fetchall()
    }
    assert mismatched == planted and planted
    n_orders, n_guest, n_status = con.execute(
        """select count(*), count(*) filter (customer_id is null), count(distinct status) from orders
        where order_id not like 'TEST-%'"""
    ).fetchone()
    assert n_orders > 50 and 0 < n_guest < 0.2 * n_orders and n_status == 3
    assert set(
        r[0]
        for r in con.execute("select distinct coalesce(currency, 'null') from orders").fetchall()
    ) <= {"USD", "EUR", "null"}
    # one purchase event per order (test orders and the experiments' extra orders come from no
    # visit): same customer (or guest), same time, revenue = total (x 100 where the tracker is
    # planted to send cents)
    n_extra = con.execute(
        """select count(*) from experiments where has_extra_order and potential_variant = assigned_variant"""
    ).fetchone()[0]
    assert n_extra > 0
    n_purchase = con.execute(
        "select count(*) from events where event_type = 'purchase'"
    ).fetchone()[0]
    matched = con.execute(
        """select count(*) from orders o join events e
        on e.event_type = 'purchase' and e.occurred_at = o.ordered_at
        and e.revenue = o.total_amount * (case when e.event_id in (select event_id from outliers
            where kind = 'event_revenue_in_cents') then 100 else 1 end)
        and e.user_id is not distinct from o.customer_id"""
    ).fetchone()[0]
    assert n_purchase == n_orders - n_extra == matched
    assert (
        con.execute(
            "select count(*) from events where (revenue is not null) <> (event_type = 'purchase')"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.execute(
            "select count(*) from events e anti join customers c on c.customer_id = e.user_id "
            "where e.user_id is not null"
        ).fetchone()[0]
        == 0
    )


def test_identity_devices_and_anonymous_events_before_login(clean: Dataset) -> None:
    con = clean.con()
    per_user = con.execute(
        """select user_id, count(distinct anonymous_id) n from events
        where user_id is not null and anonymous_id is not null group by 1"""
    ).fetchall()
    two = sum(1 for _, n in per_user if n == 2)
    assert 0.1 * len(per_user) < two < 0.45 * len(per_user)
    assert max(n for _, n in per_user) <= 2
    # every anonymous id belongs to at most one user
    assert (
        con.execute(
            """select count(*) from (select anonymous_id from events where user_id is not null
        and anonymous_id is not null group by 1 having count(distinct user_id) > 1)"""
        ).fetchone()[0]
        == 0
    )
    # devices browse anonymously before the first login, and stay logged in afterwards
    before = con.execute(
        """with first_login as (
            select anonymous_id, min(occurred_at) t from events where user_id is not null
            and anonymous_id is not null group by 1)
        select count(distinct e.anonymous_id) from events e join first_login f using (anonymous_id)
        where e.user_id is null and e.occurred_at < f.t"""
    ).fetchone()[0]
    assert before > 20
    # ground truth of the identity graph agrees with the logged-in events
    con.execute(
        f"create view links as select * from read_parquet('{clean.truth / 'identity_links.parquet'}')"
    )
    assert (
        con.execute(
            """select count(*) from (select distinct anonymous_id, user_id from events
        where anonymous_id is not null and user_id is not null) e
        anti join links l on l.anonymous_id = e.anonymous_id and l.customer_id = e.user_id"""
        ).fetchone()[0]
        == 0
    )
    unlinked = con.execute(
        """select count(*) from (select distinct anonymous_id from events where anonymous_id is not null) e
        anti join links l using (anonymous_id) anti join personas p on p.subject_id = e.anonymous_id"""
    ).fetchone()[0]
    assert unlinked == 0  # every device is either a customer's (links) or an anonymous visitor's
    # e-mail events carry user_id only
    email = con.execute(
        """select count(*), count(anonymous_id), count(user_id), count(device_type)
        from events where event_type in ('email_open', 'email_click')"""
    ).fetchone()
    assert email[0] > 0 and email[1] == 0 and email[2] == email[0] and email[3] == 0
    types = {r[0] for r in con.execute("select distinct event_type from events").fetchall()}
    assert types == set(EVENT_TYPES)
    devices = {
        r[0]
        for r in con.execute(
            "select distinct device_type from events where device_type is not null"
        ).fetchall()
    }
    assert devices == {"desktop", "mobile", "tablet"}


def test_sessions_are_bursts_and_carts_are_abandoned(clean: Dataset) -> None:
    con = clean.con()
    gaps = con.execute(
        """select quantile_cont(g, 0.5), quantile_cont(g, 0.99) from (
            select date_diff('second', lag(occurred_at::timestamp) over (partition by anonymous_id
            order by occurred_at, event_id), occurred_at::timestamp) g from events where anonymous_id is not null)
        where g is not null"""
    ).fetchone()
    assert gaps[0] < 120 and gaps[1] > 3600  # seconds inside visits, hours/days between visits
    carts, buys = con.execute(
        "select count(*) filter (event_type = 'add_to_cart'), count(*) filter (event_type = 'purchase') from events"
    ).fetchone()
    assert buys < 0.6 * carts


def test_consents_regions_and_revocations(larger: Dataset) -> None:
    con = larger.con()
    granted = dict(
        con.execute(
            "select region, avg(granted::int) from consents where purpose = 'analytics' group by 1"
        ).fetchall()
    )
    assert granted["EU"] < 0.9 < granted["US"]
    declined_eu = con.execute(
        "select count(*) from consents where region = 'EU' and not granted"
    ).fetchone()[0]
    assert declined_eu > 0
    revoked = dict(
        con.execute(
            """select purpose, count(distinct subject_id) filter (where revoked) / count(distinct subject_id)
            from (select subject_id, purpose, bool_or(granted) and
                  arg_max(granted, recorded_at) = false as revoked from consents group by 1, 2)
            group by 1"""
        ).fetchall()
    )
    assert 0.01 < revoked["analytics"] < 0.06
    assert revoked["marketing"] > revoked["analytics"]
    subjects = con.execute(
        "select count(*) filter (subject_id like 'C%'), count(*) filter (subject_id like 'A%') from consents"
    ).fetchone()
    assert subjects[0] > 0 and subjects[1] > 0
    n_del = con.execute("select count(*) from deletion_requests").fetchone()[0]
    assert n_del == 6  # 0.3% of 2,000 customers
    exps = con.execute(
        "select count(distinct experiment_id), count(distinct variant) from experiment_assignments"
    ).fetchone()
    assert exps == (4, 4)


# --------------------------------------------------------------------------- #
# timestamps and dirty data
# --------------------------------------------------------------------------- #


def test_clean_run_has_no_dirty_rows_and_all_timestamps_parse(clean: Dataset) -> None:
    con = clean.con()
    assert con.execute("select count(*) from dirty").fetchone()[0] == 0
    assert set(clean.result.dirty_counts.values()) == {0}
    for table, column in TIMESTAMPS.items():
        bad, lo, hi = con.execute(
            f"""select count(*) filter (try_cast({column} as timestamp) is null),
            min(try_cast({column} as timestamp)), max(try_cast({column} as timestamp)) from {table}"""
        ).fetchone()
        assert bad == 0, table
        assert str(hi) <= WINDOW_END, table
        if table != "customers":  # existing customers signed up before the window
            assert str(lo) >= WINDOW_START, table
        assert (
            con.execute(
                f"select count(*) from {table} where not regexp_full_match({column}, "
                "'\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}')"
            ).fetchone()[0]
            == 0
        )
    # no accidental duplicates in clean data
    for table, key in [
        ("events", "event_id"),
        ("orders", "order_id"),
        ("customers", "customer_id"),
    ]:
        assert (
            con.execute(f"select count(*) - count(distinct {key}) from {table}").fetchone()[0] == 0
        )
    assert (
        con.execute(
            "select count(*) - count(distinct (subject_id, purpose, recorded_at)) from consents"
        ).fetchone()[0]
        == 0
    )


def _table_rows(con: duckdb.DuckDBPyConnection, table: str, ds: Dataset) -> None:
    """View ``t_<table>`` with source_file (relative) and source_row."""
    columns = ", ".join(f'"{c}"' for c in CONTRACT[table])
    con.execute(
        f"""create or replace view t_{table} as select {columns},
        '{table}/' || parse_filename(filename) as source_file, file_row_number as source_row
        from read_parquet('{ds.files(table)}', filename = true, file_row_number = true)"""
    )


def test_dirty_rows_are_listed_exactly_and_hold_their_defect(dirty: Dataset) -> None:
    con = dirty.con()
    listed = con.execute(
        'select "table", expected_reason, expected_outcome, count(*) from dirty group by all'
    ).fetchall()
    by_table: dict[str, dict[str, int]] = {}
    for table, reason, outcome, n in listed:
        by_table.setdefault(table, {})[reason] = n
        accepted = reason in ("unknown_event_type", "timestamp_with_offset")
        assert outcome == ("accepted" if accepted else "quarantine")
    for table, spec in DIRTY_SPECS.items():
        assert set(by_table[table]) == set(spec.kinds), table
        total = con.execute(f"select count(*) from {table}").fetchone()[0]
        assert abs(sum(by_table[table].values()) / total - 0.05) < 0.01, table

    for table, spec in DIRTY_SPECS.items():
        _table_rows(con, table, dirty)
        ts = spec.timestamp
        pk = spec.primary_key
        checks = {
            "missing_primary_key": f"coalesce({pk}, '') = ''",
            "negative_amount": "total_amount < 0" if table == "orders" else "false",
            "negative_quantity": "quantity < 0" if table == "order_items" else "false",
            "negative_price": "unit_price < 0" if table == "order_items" else "false",
            "invalid_status": "lower(trim(status)) not in ('completed', 'cancelled', 'refunded')"
            if table == "orders"
            else "false",
            "unknown_event_type": "event_type not in ({})".format(
                ", ".join(f"'{t}'" for t in EVENT_TYPES)
            )
            if table == "events"
            else "false",
        }
        if ts:
            checks["unparseable_timestamp"] = f"try_cast({ts} as timestamptz) is null"
            checks["future_timestamp"] = (
                f"try_cast({ts} as timestamp) >= timestamp '{END}' + interval 3 day and {ts} not like '%+%'"
            )
            checks["timestamp_with_offset"] = (
                f"regexp_matches({ts}, '[+-]\\d{{2}}:\\d{{2}}$') and try_cast({ts} as timestamptz) is not null"
            )
        for reason, cond in checks.items():
            found = {
                r
                for r in con.execute(
                    f"select source_file, source_row from t_{table} where {cond}"
                ).fetchall()
            }
            expected = {
                r
                for r in con.execute(
                    f"""select source_file, source_row from dirty
                    where "table" = '{table}' and expected_reason = '{reason}'"""
                ).fetchall()
            }
            assert found == expected, (table, reason, len(found), len(expected))

        # duplicates: identical to an earlier row (file order), and only those
        # (rows without a key are already listed as missing_primary_key)
        dup_found = {
            r
            for r in con.execute(
                f"""select source_file, source_row from (
                    select *, row_number() over (partition by {", ".join(f'"{c}"' for c in CONTRACT[table])}
                    order by source_file, source_row) as n from t_{table}
                    where coalesce({pk}, '') <> '') where n > 1"""
            ).fetchall()
        }
        dup_listed = {
            r
            for r in con.execute(
                f"""select source_file, source_row from dirty
                where "table" = '{table}' and expected_reason = 'duplicate_key'"""
            ).fetchall()
        }
        assert dup_found == dup_listed, table

    # offsets: the local time converts back to the recorded UTC value
    n_offsets, n_right = con.execute(
        """select count(*), count(*) filter (
            try_cast(e.occurred_at as timestamptz)::timestamp = d.expected_utc_timestamp::timestamp)
        from dirty d join t_events e using (source_file, source_row)
        where d.expected_reason = 'timestamp_with_offset'"""
    ).fetchone()
    assert n_offsets == by_table["events"]["timestamp_with_offset"] == n_right
    assert (
        con.execute(
            "select count(*) from dirty where (expected_utc_timestamp is null) <> (expected_reason <> 'timestamp_with_offset')"
        ).fetchone()[0]
        == 0
    )
    assert (
        con.execute(
            "select count(distinct source_file) from dirty where \"table\" = 'events'"
        ).fetchone()[0]
        >= 2
    )


def test_dirty_rows_barely_change_the_clean_rows(clean: Dataset, dirty: Dataset) -> None:
    """Same seed with and without dirt: the clean rows are the same data."""
    c, d = clean.con(), dirty.con()
    assert (
        c.execute("select count(*) from events").fetchone()[0]
        == d.execute("select count(*) from events").fetchone()[0]
        - d.execute(
            "select count(*) from dirty where \"table\" = 'events' and expected_reason = 'duplicate_key'"
        ).fetchone()[0]
    )
    n_duplicates = c.execute("select count(*) from crm_duplicates").fetchone()[0]
    assert c.execute("select count(*) from customers").fetchone()[0] == 300 + n_duplicates


# --------------------------------------------------------------------------- #
# formats, knobs and CLI
# --------------------------------------------------------------------------- #


def test_csv_format_is_readable_with_header(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, customers=80, days=14, fmt="csv", dirty_rate=0.05)
    con = duckdb.connect()
    meta = json.loads((ds.truth / "generation.json").read_text())
    for table, columns in CONTRACT.items():
        files = sorted((ds.raw / table).glob("*.csv"))
        assert files and all(f.name.startswith("part-") for f in files), table
        rel = con.execute(
            f"select * from read_csv('{ds.raw / table}/*.csv', header = true, all_varchar = true) limit 0"
        )
        assert [d[0] for d in rel.description] == list(columns), table
        n = con.execute(
            f"select count(*) from read_csv('{ds.raw / table}/*.csv', header = true)"
        ).fetchone()[0]
        assert n == meta["row_counts"][table], table
    sources = {
        r[0]
        for r in con.execute(
            f"select distinct source_file from '{ds.truth}/dirty_rows.parquet'"
        ).fetchall()
    }
    assert sources and all(s.endswith(".csv") for s in sources)


def test_events_per_customer_knob_scales_volume(tmp_path: Path) -> None:
    small = make_dataset(tmp_path / "s", customers=200, days=30, events_per_customer=20)
    big = make_dataset(tmp_path / "b", customers=200, days=30, events_per_customer=80)
    n_small, n_big = small.result.row_counts["events"], big.result.row_counts["events"]
    assert 0.75 * 20 * 200 < n_small < 1.25 * 20 * 200
    assert 0.75 * 80 * 200 < n_big < 1.25 * 80 * 200


def test_rerun_deletes_only_the_table_folders_it_writes(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    (out / "events").mkdir(parents=True)
    (out / "events" / "stale-part.parquet").write_bytes(b"old")
    (out / "my_notes").mkdir()
    (out / "my_notes" / "keep.txt").write_text("keep me")
    (out / "README.txt").write_text("keep me too")
    make_dataset(tmp_path, customers=30, days=7)
    assert not (out / "events" / "stale-part.parquet").exists()
    assert (out / "my_notes" / "keep.txt").read_text() == "keep me"
    assert (out / "README.txt").exists()


def test_cli_generate_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "data" / "raw"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "python_utils",
            "generate",
            "--customers",
            "60",
            "--days",
            "10",
            "--seed",
            "5",
            "--out",
            str(out),
            "--end-date",
            "2026-03-31",
            "--dirty-rate",
            "0.02",
            "--anonymous-visitors",
            "10",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "events" in proc.stdout and "events/s" in proc.stdout
    assert "generate:" not in proc.stderr  # no progress bar with --quiet
    truth = tmp_path / "data" / "ground_truth"
    meta = json.loads((truth / "generation.json").read_text())
    assert meta["end_date"] == "2026-03-31" and meta["parameters"]["anonymous_visitors"] == 10
    con = duckdb.connect()
    hi = con.execute(
        f"""select max(try_cast(occurred_at as timestamp)) from read_parquet('{out}/events/*.parquet')
        where try_cast(occurred_at as timestamp) < timestamp '2026-04-02'"""
    ).fetchone()[0]
    assert str(hi).startswith("2026-03-31")
    n_anon = con.execute(
        f"select count(*) from '{truth}/personas.parquet' where subject_type = 'anonymous'"
    ).fetchone()[0]
    assert n_anon == 10

    bad = subprocess.run(
        [sys.executable, "-m", "python_utils", "generate", "--customers", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--customers" in bad.stderr
    no_cmd = subprocess.run(
        [sys.executable, "-m", "python_utils"], cwd=ROOT, capture_output=True, text=True
    )
    assert no_cmd.returncode == 2


# --------------------------------------------------------------------------- #
# data shapes (docs/data-shapes.md)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("shape", [s for s in SHAPES if s != "complete"])
def test_a_shape_writes_only_its_tables_with_the_bytes_of_the_complete_run(
    shape: str, clean: Dataset, tmp_path: Path
) -> None:
    ds = make_dataset(tmp_path, shape=shape, events_per_file=2_500)
    assert sorted(p.name for p in ds.raw.iterdir()) == sorted(SHAPES[shape])
    assert sorted(ds.result.row_counts) == sorted(SHAPES[shape])
    complete = _files_bytes(clean.raw)
    for rel, data in _files_bytes(ds.raw).items():
        if shape == "crm_only" and rel.startswith("consents/"):
            continue
        assert data == complete[rel], rel
    meta = json.loads((ds.truth / "generation.json").read_text())
    assert meta["parameters"]["shape"] == shape
    assert "shape" not in json.loads((clean.truth / "generation.json").read_text())["parameters"]
    if shape == "crm_only":  # the customer-level consents of the complete run, no device ones
        con = duckdb.connect()
        rows = {
            name: con.execute(
                f"select * from '{d.raw}/consents/*.parquet' {where} order by all"
            ).fetchall()
            for name, d, where in (
                ("shape", ds, ""),
                ("complete", clean, "where subject_id like 'C%'"),
            )
        }
        assert rows["shape"] == rows["complete"] and rows["shape"]


def test_a_shape_lists_dirty_rows_of_its_tables_only(dirty: Dataset, tmp_path: Path) -> None:
    ds = make_dataset(
        tmp_path, shape="order_items_no_events", dirty_rate=0.05, events_per_file=2_500
    )
    con = duckdb.connect()
    query = "select * from '{}/dirty_rows.parquet' {} order by all"
    mine = con.execute(query.format(ds.truth, "")).fetchall()
    theirs = con.execute(
        query.format(dirty.truth, "where \"table\" in ('orders', 'order_items', 'products')")
    ).fetchall()
    assert mine == theirs and mine
    assert (
        _files_bytes(ds.raw)["orders/part-00000.parquet"]
        == _files_bytes(dirty.raw)["orders/part-00000.parquet"]
    )


def test_lapsed_days_leave_only_a_few_active_customers_in_the_quiet_days(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, lapsed_days=365)
    meta = json.loads((ds.truth / "generation.json").read_text())
    assert (
        meta["window_start"] == "2025-06-01T00:00:00"
        and meta["window_end"] == "2026-06-30T23:59:59"
    )
    params = meta["parameters"]
    assert params["lapsed_from"] == "2025-07-01T00:00:00" and params["lapsed_active_customers"] == 9
    con = ds.con()
    con.execute(f"create view links as select * from '{ds.truth}/identity_links.parquet'")
    quiet = "'2025-07-01T00:00:00'"
    # the quiet days hold rows of at most the nine active customers (and their devices)
    active = con.execute(
        f"""select count(distinct person) from (
            select customer_id as person from orders where ordered_at >= {quiet}
            union all select coalesce(e.user_id, l.customer_id) from events e
                left join links l on l.anonymous_id = e.anonymous_id where e.occurred_at >= {quiet}
            union all select customer_id from customers where signup_at >= {quiet}
            union all select coalesce(l.customer_id, c.subject_id) from consents c
                left join links l on l.anonymous_id = c.subject_id where c.recorded_at >= {quiet})"""
    ).fetchone()[0]
    assert 1 <= active <= 9
    busy, late = con.execute(
        f"select count(*) filter (where ordered_at < {quiet}), count(*) filter (where ordered_at >= {quiet}) from orders"
    ).fetchone()
    assert busy > 10 * late > 0
    assert (
        con.execute(
            "select count(*) from order_items where order_id not in (select order_id from orders)"
        ).fetchone()[0]
        == 0
    )
    assert_truth_names_written_rows(con)


def assert_truth_names_written_rows(con: duckdb.DuckDBPyConnection) -> None:
    """Every id the planted-case truth names is in the data the run wrote."""
    missing = con.execute(
        """select count(*) from (
            select customer_id as id from crm_duplicates union all select original_customer_id from crm_duplicates
            union all select customer_id from crm_near_misses union all select customer_id from internal_accounts
        ) where id not in (select customer_id from customers)
        union all select count(*) from internal_accounts where order_id not in (select order_id from orders)
        union all select count(*) from outliers where order_id not in (select order_id from orders)
        union all select count(*) from outliers where event_id not in (select event_id from events)"""
    ).fetchall()
    assert missing == [(0,)] * 4
    assert con.execute("select count(*) from crm_duplicates").fetchone()[0] > 0


def test_country_puts_every_subject_in_one_country(tmp_path: Path) -> None:
    ds = make_dataset(tmp_path, customers=200, country="DE")
    con = ds.con()
    assert con.execute("select distinct country from customers").fetchall() == [("DE",)]
    assert_truth_names_written_rows(con)
    assert (
        con.execute(
            "select count(*) from crm_near_misses where kind = 'office_switchboard'"
        ).fetchone()[0]
        > 3
    )
    assert con.execute(
        "select distinct country from events where country is not null"
    ).fetchall() == [("DE",)]
    assert con.execute(
        "select distinct region from consents where region is not null"
    ).fetchall() == [("EU",)]
    assert json.loads((ds.truth / "generation.json").read_text())["parameters"]["country"] == "DE"


def test_cli_shape_options(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "python_utils",
            "generate",
            "--customers",
            "40",
            "--days",
            "5",
            "--shape",
            "events_only",
            "--country",
            "GB",
            "--lapsed-days",
            "3",
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["events"]
    assert "left out (shape): orders" in proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "python_utils", "generate", "--shape", "everything"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--shape" in bad.stderr


# --------------------------------------------------------------------------- #
# planted identity cases and outliers (issue 15)
# --------------------------------------------------------------------------- #

# The project's match rules (seed identity_email_domains, macros email_match_key and phone_e164),
# written again here as the oracle the planted cases are checked against.
STRIP_DOTS = {"gmail.com", "googlemail.com"}
STRIP_PLUS = STRIP_DOTS | {
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "fastmail.com",
    "proton.me",
}
ROLE_PARTS = {
    "info",
    "test",
    "admin",
    "support",
    "sales",
    "noreply",
    "no-reply",
    "contact",
    "office",
    "hello",
    "billing",
    "team",
    "marketing",
}
RESERVED = {"example.com", "example.net", "example.org"}
CALLING = {
    "US": "1",
    "CA": "1",
    "GB": "44",
    "DE": "49",
    "FR": "33",
    "NL": "31",
    "ES": "34",
    "IT": "39",
    "SE": "46",
    "AU": "61",
}


def email_key(email: str | None) -> str | None:
    if email is None or email.strip().count("@") != 1:
        return None
    local, domain = email.strip().lower().split("@")
    if domain in STRIP_PLUS:
        local = local.split("+")[0]
    if domain in STRIP_DOTS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local and domain else None


def phone_key(phone: str | None, country: str | None) -> str | None:
    if phone is None:
        return None
    s = phone.strip().replace("(0)", "")
    for ch in " -.()/":
        s = s.replace(ch, "")
    code = CALLING.get(country or "", "1")
    if s.startswith("+"):
        e164 = s
    elif s.startswith("00"):
        e164 = "+" + s[2:]
    elif s.startswith("0"):
        e164 = "+" + code + s[1:]
    else:
        e164 = "+" + code + s
    digits = e164[1:]
    return e164 if digits.isdigit() and 8 <= len(digits) <= 15 and digits[0] != "0" else None


def customer_rows(con: duckdb.DuckDBPyConnection) -> dict[str, dict]:
    cols = [d[0] for d in con.execute("select * from customers limit 0").description]
    return {r[0]: dict(zip(cols, r)) for r in con.execute("select * from customers").fetchall()}


def test_customer_phones_never_collide_over_the_whole_id_range() -> None:
    from python_utils.generator import OFFICE_PHONE_BASE, customer_phone_numbers

    phones = np.sort(customer_phone_numbers(np.arange(1, 10_000_000, dtype=np.int64)))
    assert bool(np.all(np.diff(phones) > 0))  # all distinct (np.unique is far slower here)
    assert (
        phones.min() >= 2_000_000_000 and phones.max() < OFFICE_PHONE_BASE
    )  # 10 digits, no leading 0


def test_planted_duplicates_match_by_exactly_one_rule(larger: Dataset) -> None:
    con = larger.con()
    rows = customer_rows(con)
    dups = con.execute(
        "select customer_id, original_customer_id, kind, expected from crm_duplicates"
    ).fetchall()
    kinds = [k for _, _, k, _ in dups]
    counts = {k: kinds.count(k) for k in DUPLICATE_KINDS}
    assert len(dups) == round(0.03 * 2_000) and max(counts.values()) - min(counts.values()) <= 1
    for dup_id, orig_id, kind, expected in dups:
        dup, orig = rows[dup_id], rows[orig_id]
        assert dup_id == "G" + orig_id[1:] and dup_id > orig_id
        assert expected == ("candidate" if kind == "weak_evidence" else "merge")
        for col in ("birth_year", "gender", "country", "city", "postal_code"):
            assert dup[col] == orig[col], (kind, col)
        same_email = email_key(dup["email"]) == email_key(orig["email"])
        same_phone = dup["phone"] is not None and phone_key(
            dup["phone"], dup["country"]
        ) == phone_key(orig["phone"], orig["country"])
        assert dup["email"] != orig["email"]
        if kind == "phone_format":
            assert same_phone and not same_email and dup["phone"] != orig["phone"]
            assert dup["email"].split("@")[1] not in STRIP_PLUS | RESERVED
        elif kind == "weak_evidence":
            assert not same_email and dup["phone"] is None
            assert None not in (orig["postal_code"], orig["birth_year"], orig["gender"])
        else:
            assert same_email and dup["phone"] is None, (kind, dup["email"], orig["email"])
            if kind == "email_case":
                assert (
                    dup["email"].strip().lower() == orig["email"]
                    and dup["email"] != dup["email"].strip()
                )
            elif kind == "gmail_dots":
                assert orig["email"].endswith("@gmail.com") and dup["email"].endswith("@gmail.com")
            elif kind == "plus_tag":
                assert "+" in dup["email"] and dup["email"].split("@")[1] in STRIP_PLUS
            elif kind == "googlemail":
                assert dup["email"].lower().endswith("@googlemail.com")
        assert email_key(orig["email"]).split("@")[0] not in ROLE_PARTS


def test_duplicates_take_orders_and_their_purchase_events(larger: Dataset) -> None:
    con = larger.con()
    held = con.execute(
        """select count(*), count(*) filter (d.moved_order_count = coalesce(n, 0)), sum(n), count(*) filter (n > 0)
        from crm_duplicates d left join (select customer_id, count(*) n from orders group by 1) o using (customer_id)"""
    ).fetchone()
    assert held[0] == held[1] and held[2] > 10 and held[3] > held[0] / 3
    # each moved order's purchase event carries the duplicate's id and no device, so no device
    # links the two records (only the CRM rules may)
    events = con.execute(
        """select count(*), count(*) filter (e.user_id = o.customer_id and e.anonymous_id is null
            and e.device_type is null)
        from orders o join events e on e.event_type = 'purchase' and e.occurred_at = o.ordered_at
            and e.user_id like 'G%'
        where o.customer_id like 'G%'"""
    ).fetchone()
    assert events[0] == held[2] and events[0] == events[1]
    assert (
        con.execute(
            "select count(*) from events where user_id like 'G%' and (event_type <> 'purchase' or anonymous_id is not null)"
        ).fetchone()[0]
        == 0
    )


def test_no_accidental_matches_between_unrelated_customers(larger: Dataset) -> None:
    """An e-mail or phone key shared by two customer records belongs to one planted duplicate
    pair or one near-miss group, never to unrelated customers."""
    con = larger.con()
    rows = customer_rows(con)
    group_of = {
        c: f"dup:{o}"
        for c, o in con.execute(
            "select customer_id, original_customer_id from crm_duplicates"
        ).fetchall()
    }
    group_of.update(
        {
            o: f"dup:{o}"
            for _, o in con.execute(
                "select customer_id, original_customer_id from crm_duplicates"
            ).fetchall()
        }
    )
    group_of.update(
        dict(con.execute("select customer_id, group_id from crm_near_misses").fetchall())
    )
    for key_of in (lambda r: email_key(r["email"]), lambda r: phone_key(r["phone"], r["country"])):
        by_key: dict[str, set[str]] = {}
        for cid, row in rows.items():
            key = key_of(row)
            if key is not None:
                by_key.setdefault(key, set()).add(cid)
        for key, ids in by_key.items():
            if len(ids) > 1:
                assert len({group_of.get(i, i) for i in ids}) == 1, (key, ids)


def test_near_misses_look_alike_and_stay_different_humans(larger: Dataset) -> None:
    con = larger.con()
    rows = customer_rows(con)
    groups: dict[tuple[str, str], list[dict]] = {}
    for group_id, cid, kind in con.execute(
        "select group_id, customer_id, kind from crm_near_misses"
    ).fetchall():
        groups.setdefault((kind, group_id), []).append(rows[cid])
    by_kind = {k: [g for (kind, _), g in groups.items() if kind == k] for k in NEAR_MISS_KINDS}
    assert all(by_kind.values()), {k: len(v) for k, v in by_kind.items()}
    assert len(by_kind["family_same_address"]) == 8
    dup_ids = {
        r[0]
        for r in con.execute(
            "select customer_id from crm_duplicates union select original_customer_id from crm_duplicates"
        ).fetchall()
    }
    for kind, members_list in by_kind.items():
        for members in members_list:
            lo, hi = NEAR_MISS_SIZES[kind]
            assert lo <= len(members) <= hi and not {m["customer_id"] for m in members} & dup_ids
            emails = [email_key(m["email"]) for m in members]
            phones = [
                phone_key(m["phone"], m["country"]) for m in members if m["phone"] is not None
            ]
            if kind == "family_same_address":
                assert (
                    len({m["email"].split("@")[0].split(".")[1] for m in members}) == 1
                )  # last name
                for col in ("city", "postal_code", "country"):
                    assert len({m[col] for m in members}) == 1 and members[0][col] is not None, col
                assert len({m["birth_year"] for m in members}) == len(members) and None not in {
                    m["birth_year"] for m in members
                }
                assert len(set(emails)) == len(members) and len(set(phones)) == len(phones)
            elif kind == "office_switchboard":
                assert len(members) > 3 and len(set(phones)) == 1 and len(phones) == len(members)
                assert (
                    len({m["phone"] for m in members}) > 2
                    and len({m["country"] for m in members}) == 1
                )
                assert len(set(emails)) == len(members)
            else:
                assert len(set(emails)) == 1 and len({m["email"] for m in members}) == len(members)
                local, domain = emails[0].split("@")
                assert (local in ROLE_PARTS) if kind == "role_address" else (domain in RESERVED)
                assert len(set(phones)) == len(phones)


def test_internal_accounts_and_their_test_orders(larger: Dataset) -> None:
    con = larger.con()
    accounts = {
        r[0]
        for r in con.execute(
            "select customer_id from internal_accounts where kind = 'internal_account'"
        ).fetchall()
    }
    assert len(accounts) == 3
    emails = dict(con.execute("select customer_id, email from customers").fetchall())
    assert {emails[a].split("@")[1] for a in accounts} == {"demoshop.internal"}
    assert sum(e.endswith("@demoshop.internal") for e in emails.values()) == 3
    tests = con.execute(
        """select t.order_id, o.customer_id, o.total_amount, t.total_amount, o.status, o.ordered_at, i.s
        from internal_accounts t join orders o using (order_id)
        join (select order_id, sum(quantity * unit_price) s from order_items group by 1) i using (order_id)
        where t.kind = 'test_order'"""
    ).fetchall()
    assert (
        len(tests)
        == 2 * len(accounts)
        == con.execute("select count(*) from orders where order_id like 'TEST-%'").fetchone()[0]
    )
    for order_id, customer, total, listed, status, ordered_at, lines in tests:
        assert order_id.startswith("TEST-") and customer in accounts
        assert total == listed == lines >= 100_000 and status in ("completed", "cancelled")
        assert "2026-05-02T00:00:00" <= ordered_at <= "2026-06-30T23:59:59"


def test_planted_outliers_are_in_the_data_with_valid_values(larger: Dataset) -> None:
    con = larger.con()
    truth = con.execute(
        """select "table", event_id, order_id, product_id, customer_id, column_name, value, kind, is_derived
        from outliers"""
    ).fetchall()
    planted = [t for t in truth if not t[8]]
    assert {t[7] for t in planted} == set(OUTLIER_KINDS)
    assert all(sum(t[7] == k for t in planted) == 2 for k in OUTLIER_KINDS)
    lookups = {
        "events": "select {col}, user_id from events where event_id = ?",
        "orders": "select {col}, customer_id from orders where order_id = ?",
        "order_items": "select i.{col}, o.customer_id from order_items i join orders o using (order_id) "
        "where order_id = ? and product_id = ?",
    }
    for table, event_id, order_id, product_id, customer, col, value, kind, _derived in truth:
        keys = (
            [event_id]
            if table == "events"
            else [order_id]
            if table == "orders"
            else [order_id, product_id]
        )
        found = con.execute(lookups[table].format(col=col), keys).fetchall()
        assert found == [(value, customer)], (table, keys, col)
        assert value >= 0  # staging accepts it: not negative, engaged time of a week, no 'bad' type
        if col == "engaged_seconds":
            assert value == 604_800
        elif kind != "event_revenue_in_cents":
            assert value >= 999, (kind, col, value)
    # what follows from a planted line is consistent: the order total is the sum of its lines and
    # the purchase event's revenue the order total
    assert (
        con.execute(
            """select count(*) from outliers t join orders o using (order_id)
        join (select order_id, round(sum(quantity * unit_price), 2) s from order_items group by 1) i using (order_id)
        where t."table" = 'orders' and t.kind in ('extreme_quantity', 'extreme_unit_price') and abs(o.total_amount - i.s) > 0.001"""
        ).fetchone()[0]
        == 0
    )
    # outliers sit on customers the identity cases leave alone
    touched = (
        "select customer_id from crm_duplicates union select original_customer_id from crm_duplicates "
        "union select customer_id from crm_near_misses union select customer_id from internal_accounts"
    )
    assert (
        con.execute(f"select count(*) from outliers where customer_id in ({touched})").fetchone()[0]
        == 0
    )


def test_dirt_spares_the_planted_rows(dirty: Dataset) -> None:
    con = dirty.con()
    for table, _key in (
        ("customers", "customer_id"),
        ("orders", "order_id"),
        ("order_items", "order_id"),
    ):
        _table_rows(con, table, dirty)
    planted_customers = """select customer_id from crm_duplicates union select original_customer_id from crm_duplicates
        union select customer_id from crm_near_misses union select customer_id from internal_accounts"""
    assert con.execute(f"select count(*) from ({planted_customers})").fetchone()[0] > 30
    planted_orders = (
        "select order_id from outliers where order_id is not null "
        "union select order_id from internal_accounts where order_id is not null"
    )
    for table, key, planted in (
        ("customers", "customer_id", planted_customers),
        ("orders", "order_id", planted_orders),
        ("order_items", "order_id", planted_orders),
    ):
        hit = con.execute(
            f"""select count(*) from dirty d join t_{table} t using (source_file, source_row)
            where d."table" = '{table}' and t.{key} in ({planted})"""
        ).fetchone()[0]
        assert hit == 0, table
        # and every planted key is still there, exactly once
        assert (
            con.execute(
                f"select count(*) from ({planted}) p where (select count(*) from t_{table} t where t.{key} = p.{key}) = 0"
            ).fetchone()[0]
            == 0
        ), table
    assert con.execute("select count(*) from outliers where event_id is not null").fetchone()[0] > 0
    _table_rows(con, "events", dirty)
    assert (
        con.execute(
            """select count(*) from dirty d join t_events t using (source_file, source_row)
        where d."table" = 'events' and t.event_id in (select event_id from outliers where event_id is not null)"""
        ).fetchone()[0]
        == 0
    )


def test_planting_switched_off_leaves_the_rest_of_the_data_as_it_was(
    clean: Dataset, tmp_path: Path
) -> None:
    off = make_dataset(
        tmp_path,
        events_per_file=2_500,
        crm_duplicate_rate=0.0,
        near_misses=False,
        internal_accounts=False,
        outliers=False,
    )
    o = off.con()
    for name in ("crm_duplicates", "crm_near_misses", "internal_accounts", "outliers"):
        assert o.execute(f"select count(*) from {name}").fetchone()[0] == 0, name
    assert o.execute("select count(*) from customers").fetchone()[0] == 300
    assert (
        o.execute(
            "select count(*) from customers where email like '%demoshop%' or customer_id like 'G%'"
        ).fetchone()[0]
        == 0
    )
    meta = json.loads((off.truth / "generation.json").read_text())
    assert (
        meta["parameters"]["crm_duplicate_rate"] == 0.0
        and meta["planted"]["crm_duplicates"]["email_case"] == 0
    )
    # with planting on, every row the planted cases do not name is the same as with it off
    on = clean.con()
    on.execute(f"attach '{tmp_path / 'off.duckdb'}' as off")
    for table in TABLES:
        on.execute(f"create table off.{table} as select * from read_parquet('{off.files(table)}')")
    touched_customers = """select customer_id from crm_duplicates union select original_customer_id from crm_duplicates
        union select customer_id from crm_near_misses union select customer_id from internal_accounts"""
    moved_or_planted_orders = """select order_id from orders where customer_id like 'G%' or order_id like 'TEST-%'
        union select order_id from outliers where order_id is not null"""
    checks = {
        "customers": f"customer_id not in ({touched_customers})",
        "orders": f"order_id not in ({moved_or_planted_orders})",
        "order_items": f"order_id not in ({moved_or_planted_orders})",
        "events": "coalesce(user_id, '') not like 'G%' and event_id not in (select event_id from outliers where event_id is not null)",
        **{
            t: "true"
            for t in (
                "products",
                "consents",
                "deletion_requests",
                "survey_responses",
                "experiment_assignments",
            )
        },
    }
    columns = {t: ", ".join(f'"{c}"' for c in CONTRACT[t]) for t in CONTRACT}
    for table, keep in checks.items():
        mine = on.execute(
            f"select count(*) from (select {columns[table]} from {table} where {keep} except all "
            f"select {columns[table]} from off.{table})"
        ).fetchone()[0]
        assert mine == 0, table
    untouched = on.execute(
        f"select count(*) from customers where {checks['customers']}"
    ).fetchone()[0]
    assert untouched > 200


def test_cli_planting_flags(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "python_utils",
            "generate",
            "--customers",
            "200",
            "--days",
            "7",
            "--out",
            str(out),
            "--crm-duplicate-rate",
            "0.1",
            "--no-near-misses",
            "--no-internal-accounts",
            "--no-outliers",
            "--quiet",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    truth = tmp_path / "ground_truth"
    con = duckdb.connect()
    counts = {
        name: con.execute(f"select count(*) from '{truth}/{name}.parquet'").fetchone()[0]
        for name in ("crm_duplicates", "crm_near_misses", "internal_accounts", "outliers")
    }
    assert counts == {
        "crm_duplicates": 20,
        "crm_near_misses": 0,
        "internal_accounts": 0,
        "outliers": 0,
    }
    bad = subprocess.run(
        [sys.executable, "-m", "python_utils", "generate", "--crm-duplicate-rate", "0.7"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--crm-duplicate-rate" in bad.stderr
