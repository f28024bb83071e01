"""How well a built project resolves the generator's planted CRM cases, and finds its outliers
(`python -m python_utils evaluate-identity`).

The ground truth comes from the demo generator (:mod:`python_utils.generator`, files in the
truth folder, default ``data/ground_truth``):

- ``crm_duplicates.parquet``: second records of one human (``customer_id``, its
  ``original_customer_id``, ``kind``, ``expected`` = ``merge`` or ``candidate``);
- ``crm_near_misses.parquet``: groups of different humans that look alike (``group_id``,
  ``customer_id``, ``kind``): every pair inside a group must stay apart;
- ``outliers.parquet``: planted extreme values (``table``, its key columns, ``column_name``,
  ``value``, ``kind``, ``is_derived``).

The database side is read from two identity models: ``int_person_customers`` (``person_id``,
``customer_id``, one row per customer id of every person) and, when it exists,
``int_identity_customer_links`` (``link_type``, ``customer_id``, ``linked_customer_id``,
``rejection_reason``: null = accepted). Every query is a plain ``select`` (no temporary
objects), so a read-only connection works.

Measures (see :func:`evaluate_identity`):

- recall per duplicate kind: share of the true pairs whose two ids resolve to one person (for
  ``weak_evidence``, expected ``candidate``, this share should be 0: such pairs are for review);
- near-miss precision: share of the pairs inside near-miss groups that stay apart (goal 1.0);
- link precision: share of the accepted CRM links that join two records of one human;
- pair precision: share of all pairs of customer ids put into one person that are one human
  (any path: devices, e-mail, phone, reviews);
- persons before (every customer id its own person) and after, and the true number of humans.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from python_utils.generator import DUPLICATE_KINDS, NEAR_MISS_KINDS  # the report's order


def _parquet(truth_dir: Path | str, name: str) -> str:
    """``read_parquet('<truth>/<name>.parquet')`` with the path quoted for SQL."""
    path = str(Path(truth_dir) / f"{name}.parquet").replace("'", "''")
    return f"read_parquet('{path}')"


def _has_relation(connection: Any, name: str) -> bool:
    rows = connection.execute(
        "select count(*) from information_schema.tables where lower(table_name) = lower(?)", [name]
    ).fetchone()
    return bool(rows and rows[0])


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def evaluate_identity(
    connection: Any,
    truth_dir: Path | str,
    candidates_sql: str
    | None = "select customer_id_a, customer_id_b from identity_match_candidates",
) -> dict[str, Any]:
    """Identity-resolution quality of a built database against the generator's truth.

    ``connection`` is a DuckDB connection to the built database (read-only is fine).
    ``candidates_sql`` is a query returning ``customer_id_a, customer_id_b`` (the review table's
    pairs, any order; by default identity_match_candidates; None to skip): with it, the share of
    ``candidate`` pairs listed for review is reported too.

    Returns a dict: ``customers``, ``persons_before``, ``persons_after``, ``humans``,
    ``duplicates`` (per kind: ``expected``, ``pairs``, ``evaluated`` = both ids present,
    ``merged``, ``recall``, and ``listed``/``candidate_recall`` with ``candidates_sql``),
    ``merge_recall`` (over the kinds expected to merge), ``candidates_merged`` (share of the
    ``candidate`` pairs merged automatically: should be 0), ``near_misses`` (per kind:
    ``groups``, ``pairs``, ``kept_apart``, ``precision``), ``near_miss_precision``, ``links``
    (accepted CRM links: ``accepted``, ``correct``, ``precision`` and ``by_type``; None without
    the links model), ``pair_precision`` / ``person_pairs`` and ``missing_customers`` (truth ids
    without a row in ``int_person_customers``, e.g. deleted or quarantined).
    """
    duplicates = _parquet(truth_dir, "crm_duplicates")
    near_misses = _parquet(truth_dir, "crm_near_misses")
    # every customer id with the human it belongs to (a duplicate's human is its original)
    humans_cte = f"""
        with duplicates as (select * from {duplicates}),
        members as (
            select
                person_customers.person_id,
                person_customers.customer_id,
                coalesce(duplicates.original_customer_id, person_customers.customer_id) as human_id
            from int_person_customers as person_customers
            left join duplicates on person_customers.customer_id = duplicates.customer_id
        )
    """
    customers, persons_after, humans = connection.execute(
        humans_cte + "select count(distinct customer_id), count(distinct person_id), "
        "count(distinct human_id) from members"
    ).fetchone()

    candidate_join = ""
    candidate_select = "null::bigint as listed"
    if (
        candidates_sql
        and "identity_match_candidates" in candidates_sql
        and not connection.execute(
            "select count(*) from information_schema.tables "
            "where table_name = 'identity_match_candidates'"
        ).fetchone()[0]
    ):
        candidates_sql = None  # a database built before the review table existed
    if candidates_sql:
        candidate_join = f"""
        left join (select distinct least(customer_id_a, customer_id_b) as id_a,
                greatest(customer_id_a, customer_id_b) as id_b from ({candidates_sql})) as candidates
            on candidates.id_a = least(pairs.customer_id, pairs.original_customer_id)
            and candidates.id_b = greatest(pairs.customer_id, pairs.original_customer_id)"""
        candidate_select = (
            "count(*) filter (where candidates.id_a is not null and "
            "duplicate.person_id is not null and original.person_id is not null)"
            " as listed"
        )
    rows = connection.execute(f"""
        select
            pairs.kind,
            min(pairs.expected) as expected,
            count(*) as pairs,
            count(*) filter (where duplicate.person_id is not null
                and original.person_id is not null) as evaluated,
            count(*) filter (where duplicate.person_id = original.person_id) as merged,
            {candidate_select}
        from {duplicates} as pairs
        left join int_person_customers as duplicate on pairs.customer_id = duplicate.customer_id
        left join int_person_customers as original
            on pairs.original_customer_id = original.customer_id
        {candidate_join}
        group by pairs.kind
    """).fetchall()
    by_kind = {row[0]: row for row in rows}
    duplicate_report: dict[str, dict[str, Any]] = {}
    for kind in [k for k in DUPLICATE_KINDS if k in by_kind] + sorted(
        set(by_kind) - set(DUPLICATE_KINDS)
    ):
        _, expected, pairs, evaluated, merged, listed = by_kind[kind]
        entry = {
            "expected": expected,
            "pairs": pairs,
            "evaluated": evaluated,
            "merged": merged,
            "recall": _ratio(merged, evaluated),
        }
        if candidates_sql:
            entry["listed"] = listed
            entry["candidate_recall"] = _ratio(listed, evaluated)
        duplicate_report[kind] = entry
    to_merge = [e for e in duplicate_report.values() if e["expected"] == "merge"]
    to_review = [e for e in duplicate_report.values() if e["expected"] == "candidate"]

    rows = connection.execute(f"""
        with members as (select * from {near_misses}),
        pairs as (
            select first.kind, first.group_id, first.customer_id as id_a, second.customer_id as id_b
            from members as first
            inner join members as second
                on first.group_id = second.group_id and first.customer_id < second.customer_id
        )
        select
            pairs.kind,
            count(distinct pairs.group_id) as groups,
            count(*) filter (where a.person_id is not null and b.person_id is not null) as pairs,
            count(*) filter (where a.person_id <> b.person_id) as kept_apart
        from pairs
        left join int_person_customers as a on pairs.id_a = a.customer_id
        left join int_person_customers as b on pairs.id_b = b.customer_id
        group by pairs.kind
    """).fetchall()
    by_kind = {row[0]: row for row in rows}
    near_report = {
        kind: {
            "groups": by_kind[kind][1],
            "pairs": by_kind[kind][2],
            "kept_apart": by_kind[kind][3],
            "precision": _ratio(by_kind[kind][3], by_kind[kind][2]),
        }
        for kind in [k for k in NEAR_MISS_KINDS if k in by_kind]
        + sorted(set(by_kind) - set(NEAR_MISS_KINDS))
    }

    links = None
    if _has_relation(connection, "int_identity_customer_links"):
        rows = connection.execute(
            humans_cte
            + """
            select
                links.link_type,
                count(*) as accepted,
                count(*) filter (where a.human_id = b.human_id) as correct
            from int_identity_customer_links as links
            left join members as a on links.customer_id = a.customer_id
            left join members as b on links.linked_customer_id = b.customer_id
            where links.rejection_reason is null
            group by links.link_type
            order by links.link_type
        """
        ).fetchall()
        accepted = sum(r[1] for r in rows)
        correct = sum(r[2] for r in rows)
        links = {
            "accepted": accepted,
            "correct": correct,
            "precision": _ratio(correct, accepted),
            "by_type": {
                r[0]: {"accepted": r[1], "correct": r[2], "precision": _ratio(r[2], r[1])}
                for r in rows
            },
        }

    person_pairs, same_human = connection.execute(
        humans_cte
        + """
        select count(*), count(*) filter (where a.human_id = b.human_id)
        from members as a
        inner join members as b on a.person_id = b.person_id and a.customer_id < b.customer_id
    """
    ).fetchone()
    missing = connection.execute(f"""
        select count(*) from (
            select customer_id from {duplicates}
            union select original_customer_id from {duplicates}
            union select customer_id from {near_misses}
        ) as truth
        where not exists (select 1 from int_person_customers as resolved
                          where resolved.customer_id = truth.customer_id)
    """).fetchone()[0]

    return {
        "customers": customers,
        "persons_before": customers,
        "persons_after": persons_after,
        "humans": humans,
        "duplicates": duplicate_report,
        "merge_recall": _ratio(
            sum(e["merged"] for e in to_merge), sum(e["evaluated"] for e in to_merge)
        ),
        "candidates_merged": _ratio(
            sum(e["merged"] for e in to_review), sum(e["evaluated"] for e in to_review)
        ),
        "near_misses": near_report,
        "near_miss_precision": _ratio(
            sum(e["kept_apart"] for e in near_report.values()),
            sum(e["pairs"] for e in near_report.values()),
        ),
        "links": links,
        "person_pairs": person_pairs,
        "pair_precision": _ratio(same_human, person_pairs),
        "missing_customers": missing,
    }


def _pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{100 * value:5.1f}%"


def format_identity_report(result: dict[str, Any]) -> str:
    """The result of :func:`evaluate_identity` as a short text report."""
    lines = [
        f"customer ids {result['customers']:,}: persons before {result['persons_before']:,}, "
        f"after {result['persons_after']:,}, true humans {result['humans']:,}"
        + (
            f" ({result['missing_customers']:,} planted ids not in int_person_customers)"
            if result["missing_customers"]
            else ""
        ),
        "",
        f"{'duplicate kind':<16} {'expected':<10} {'pairs':>6} {'merged':>7} {'recall':>7}"
        + (f" {'listed':>7}" if any("listed" in e for e in result["duplicates"].values()) else ""),
    ]
    for kind, e in result["duplicates"].items():
        line = f"{kind:<16} {e['expected']:<10} {e['evaluated']:>6} {e['merged']:>7} {_pct(e['recall']):>7}"
        if "listed" in e:
            line += f" {_pct(e['candidate_recall']):>7}"
        lines.append(line)
    lines += [
        f"merge recall {_pct(result['merge_recall'])}; candidate pairs merged automatically "
        f"{_pct(result['candidates_merged'])} (should be 0)",
        "",
        f"{'near-miss kind':<20} {'groups':>6} {'pairs':>6} {'apart':>6} {'precision':>9}",
    ]
    for kind, e in result["near_misses"].items():
        lines.append(
            f"{kind:<20} {e['groups']:>6} {e['pairs']:>6} {e['kept_apart']:>6} {_pct(e['precision']):>9}"
        )
    lines.append(f"near-miss precision {_pct(result['near_miss_precision'])} (goal 100%)")
    lines.append("")
    links = result["links"]
    if links is None:
        lines.append("links: int_identity_customer_links is not in the database")
    else:
        by_type = ", ".join(
            f"{t} {v['correct']}/{v['accepted']}" for t, v in links["by_type"].items()
        )
        lines.append(
            f"accepted CRM links {links['accepted']:,}, joining one human {links['correct']:,}: "
            f"precision {_pct(links['precision'])}" + (f" ({by_type})" if by_type else "")
        )
    lines.append(
        f"customer-id pairs in one person {result['person_pairs']:,}: one human "
        f"{_pct(result['pair_precision'])}"
    )
    return "\n".join(lines)


def outlier_truth(truth_dir: Path | str) -> pd.DataFrame:
    """The planted outliers (``outliers.parquet``) as a frame: ``table``, the row's keys
    (``event_id`` / ``order_id`` / ``order_id`` + ``product_id``), ``customer_id``,
    ``column_name``, ``value``, ``kind`` and ``is_derived`` (the value follows from another
    planted cell, e.g. an order total recomputed from an extreme quantity)."""
    import pyarrow.parquet as pq

    return pq.read_table(Path(truth_dir) / "outliers.parquet").to_pandas()


# The project's outlier flags (stg_shop__outlier_flags, stg_app__outlier_flags) in the shape
# evaluate_outliers matches against the truth.
PROJECT_FLAGGED_SQL = """
    select
        source_table as "table",
        cast(null as varchar) as event_id,
        case when source_table in ('orders', 'order_items') then row_key end as order_id,
        case when source_table = 'order_items' then row_subkey
             when source_table = 'products' then row_key end as product_id,
        column_name
    from stg_shop__outlier_flags
    union all
    select 'events', row_key, null, null, column_name
    from stg_app__outlier_flags
"""


def evaluate_outliers(
    connection: Any, truth_dir: Path | str, flagged_sql: str = PROJECT_FLAGGED_SQL
) -> dict[str, Any]:
    """Recall of the planted outliers among the rows a check flags.

    ``flagged_sql`` is a query over whatever flags rows (by default the project's outlier flags,
    PROJECT_FLAGGED_SQL), returning the columns ``table`` (``events``, ``orders``,
    ``order_items``), ``event_id``, ``order_id``, ``product_id`` (null where the table has no
    such key) and ``column_name`` (null = the whole row is flagged).

    Returns ``planted`` and ``found`` per kind (the cells the generator set, ``is_derived``
    false), ``recall`` per kind and overall, ``found_derived`` / ``derived`` (cells that follow
    from a planted one), and ``flagged_not_planted``: flagged rows that hold no planted cell
    (natural extremes or false alarms).
    """
    truth = _parquet(truth_dir, "outliers")
    matched = f"""
        with truth as (select * from {truth}),
        flagged as (select distinct "table", event_id, order_id, product_id, column_name
                    from ({flagged_sql})),
        hits as (
            select truth.*, flagged."table" is not null as is_found
            from truth
            left join flagged
                on truth."table" = flagged."table"
                and truth.event_id is not distinct from flagged.event_id
                and truth.order_id is not distinct from flagged.order_id
                and truth.product_id is not distinct from flagged.product_id
                and (flagged.column_name is null or flagged.column_name = truth.column_name)
        )
    """
    rows = connection.execute(
        matched
        + """
        select kind, is_derived, count(*), count(*) filter (where is_found)
        from (select kind, is_derived, "table", event_id, order_id, product_id, column_name,
                     bool_or(is_found) as is_found
              from hits group by all)
        group by kind, is_derived
    """
    ).fetchall()
    planted = {kind: (n, found) for kind, derived, n, found in rows if not derived}
    derived = [(n, found) for _, is_derived, n, found in rows if is_derived]
    not_planted = connection.execute(
        matched
        + """
        select count(*) from flagged
        where not exists (
            select 1 from truth
            where truth."table" = flagged."table"
                and truth.event_id is not distinct from flagged.event_id
                and truth.order_id is not distinct from flagged.order_id
                and truth.product_id is not distinct from flagged.product_id)
    """
    ).fetchone()[0]
    total = sum(n for n, _ in planted.values())
    found = sum(f for _, f in planted.values())
    return {
        "planted": {kind: n for kind, (n, _) in sorted(planted.items())},
        "found": {kind: f for kind, (_, f) in sorted(planted.items())},
        "recall_by_kind": {kind: _ratio(f, n) for kind, (n, f) in sorted(planted.items())},
        "recall": _ratio(found, total),
        "derived": sum(n for n, _ in derived),
        "found_derived": sum(f for _, f in derived),
        "flagged_not_planted": not_planted,
    }


def format_outlier_report(result: dict[str, Any]) -> str:
    """The result of :func:`evaluate_outliers` as a short text report."""
    lines = [f"{'planted outlier kind':<26} {'planted':>8} {'flagged':>8} {'recall':>7}"]
    for kind, planted in result["planted"].items():
        lines.append(
            f"{kind:<26} {planted:>8} {result['found'][kind]:>8} "
            f"{_pct(result['recall_by_kind'][kind]):>7}"
        )
    lines.append(
        f"outlier recall {_pct(result['recall'])}; derived cells flagged "
        f"{result['found_derived']}/{result['derived']}; flagged rows not planted "
        f"{result['flagged_not_planted']} (natural extremes, test orders)"
    )
    return "\n".join(lines)
