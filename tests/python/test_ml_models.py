"""The machine-learning marts end to end on a mid-size planted dataset: clustering recovers the
generator's personas, quality gates hold (and fail when they should), labels stay stable from
run to run and when 5% more customers arrive, and the supervised models pass their gates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from dbt_harness import NO_TESTS, NO_UNIT_TESTS, generate, query, run_dbt
from python_utils.evaluate_clusters import persona_of_persons

# The persona data alone: the planted CRM duplicates and outliers are measured on the session
# build (test_segments.py); here they would only move the near-tie between k = 5 and k = 8 that
# the 95% subset sits on (known: the k search has no memory of the previous run's k).
ML_ARGS = (
    "--customers",
    "2000",
    "--days",
    "120",
    "--seed",
    "5",
    "--dirty-rate",
    "0",
    "--crm-duplicate-rate",
    "0",
    "--no-near-misses",
    "--no-internal-accounts",
    "--no-outliers",
)
REMOVED_SHARE = 0.05
ML_VARS = {"segment_test_severity": "warn"}
PERSONA_ARI_MIN = 0.65  # measured 0.72 here; the demo (10,000 customers) gives 0.725: see README


def subset_raw(raw: Path, out: Path, removed_customers: set[str], grown: Path) -> None:
    """A copy of a raw folder without some customers (their rows in every table, their orders'
    items, and the devices they were seen on) in `out`; and in `grown` the same files plus
    one new file per table with exactly the rows left out: the customers arriving later."""
    with duckdb.connect() as connection:
        connection.execute("create table removed (customer_id varchar)")
        connection.executemany("insert into removed values (?)", [[c] for c in removed_customers])
        connection.execute(f"""
            create table removed_ids as
            select customer_id as id from removed
            union select distinct anonymous_id from read_parquet('{raw}/events/*.parquet')
            where user_id in (select customer_id from removed) and anonymous_id is not null""")
        connection.execute(f"""
            create table removed_orders as select order_id from read_parquet('{raw}/orders/*.parquet')
            where customer_id in (select customer_id from removed)""")
        filters = {
            "customers": "customer_id not in (select id from removed_ids)",
            "events": "coalesce(user_id, '') not in (select id from removed_ids) "
            "and coalesce(anonymous_id, '') not in (select id from removed_ids)",
            "orders": "order_id not in (select order_id from removed_orders)",
            "order_items": "order_id not in (select order_id from removed_orders)",
            "consents": "subject_id not in (select id from removed_ids)",
            "deletion_requests": "subject_id not in (select id from removed_ids)",
            "experiment_assignments": "subject_id not in (select id from removed_ids)",
            "survey_responses": "customer_id not in (select id from removed_ids)",
            "products": "true",
        }
        for table, condition in filters.items():
            source = f"read_parquet('{raw}/{table}/*.parquet')"
            for folder in (out, grown):
                (folder / table).mkdir(parents=True)
                connection.execute(
                    f"copy (select * from {source} where ({condition}) is true) "
                    f"to '{folder / table / 'part-00000.parquet'}' (format parquet)"
                )
            connection.execute(
                f"copy (select * from {source} where ({condition}) is not true) "
                f"to '{grown / table / 'arrivals-00000.parquet'}' (format parquet)"
            )


def persons_with_personas(database: Path, truth: Path) -> pd.DataFrame:
    """customer_clusters with each person's planted persona (python_utils.evaluate_clusters)."""
    with duckdb.connect(str(database), read_only=True) as connection:
        personas = persona_of_persons(connection, truth)
        clusters = connection.sql("select person_id, cluster_id from customer_clusters").df()
    return clusters.merge(personas, on="person_id").sort_values("person_id")


BUILD = ["build", *NO_UNIT_TESTS]


@pytest.fixture(scope="module")
def ml_demo(tmp_path_factory) -> dict:
    """The planted data built twice into one DuckDB file: first without 5% of the customers,
    then with their rows landed as new files (segment_model_runs keeps the first run's model to
    match)."""
    root = tmp_path_factory.mktemp("ml_demo")
    raw, truth = root / "raw", root / "ground_truth"
    generate(raw, *ML_ARGS, "--truth-out", str(truth))
    customers = sorted(r[0] for r in query_parquet(raw / "customers"))
    removed = {c for i, c in enumerate(customers) if i % int(1 / REMOVED_SHARE) == 0}
    smaller, grown = root / "raw_95", root / "raw_grown"
    subset_raw(raw, smaller, removed, grown)
    work = root / "work"
    # The rule segments' size gates are proven elsewhere; here only the ML gates must hold. The
    # first build is the history the second matches against: its data tests add nothing.
    first = run_dbt(["build", *NO_TESTS], smaller, work, dbt_vars=ML_VARS)
    assert first.returncode == 0, first.output[-4000:]
    before = pd.DataFrame(
        query(first.database, "select person_id, cluster_id, cluster_name from customer_clusters"),
        columns=["person_id", "cluster_id", "cluster_name"],
    )
    # the arrivals land as new files next to the old ones (the incremental staging sees them);
    # the same as_of, so no refit would be due: forced, as the stability of a refit is the test
    second = run_dbt(BUILD, grown, work, dbt_vars={**ML_VARS, "model_refit_force": True})
    assert second.returncode == 0, second.output[-4000:]
    return {
        "raw": grown,
        "truth": truth,
        "work": work,
        "db": second.database,
        "run": second,
        "before": before,
        "removed": removed,
    }


def query_parquet(folder: Path) -> list[tuple]:
    with duckdb.connect() as connection:
        return connection.sql(
            f"select customer_id from read_parquet('{folder}/*.parquet')"
        ).fetchall()


def test_clustering_recovers_the_planted_personas(ml_demo):
    labelled = persons_with_personas(ml_demo["db"], ml_demo["truth"])
    ari = adjusted_rand_score(labelled["persona"], labelled["cluster_id"])
    print(f"\nARI against the planted personas ({len(labelled)} persons): {ari:.3f}")
    assert ari >= PERSONA_ARI_MIN


def test_every_gate_passed_and_portable_scoring_agrees(ml_demo):
    statuses = {r["unique_id"]: r["status"] for r in ml_demo["run"].results()}
    for gate in (
        "business_gates_binding",
        "group_size_at_least_customer_clusters_cluster_id",
        "cluster_sql_scoring_matches_python",
    ):
        matched = [s for uid, s in statuses.items() if gate in uid]
        assert matched == ["pass"], (gate, matched)
    model_gates = dict(
        query(
            ml_demo["db"],
            """
        select gate, status from business_gate_results
        where subject_family in ('clustering', 'supervised')""",
        )
    )
    assert model_gates == {
        "cluster_silhouette": "pass",
        "cluster_davies_bouldin": "pass",
        "churn_auc": "pass",
        "classifier_macro_f1": "pass",
    }, model_gates
    disagreements = query(
        ml_demo["db"],
        """
        select count(*) from customer_clusters as py
        full outer join customer_cluster_scores as sql on py.person_id = sql.person_id
        where py.cluster_id is distinct from sql.cluster_id""",
    )[0][0]
    assert disagreements == 0
    runs = query(
        ml_demo["db"],
        "select model_name, person_count, auc, macro_f1, "
        "baseline_accuracy from supervised_model_runs "
        "where run_number = 2 order by model_name",
    )
    churn, classifier = runs
    assert churn[1] >= 100 and churn[2] >= 0.7
    assert classifier[3] >= 0.5 and classifier[3] is not None


def test_five_percent_more_customers_keep_the_existing_cluster_ids(ml_demo):
    after = pd.DataFrame(
        query(ml_demo["db"], "select person_id, cluster_id, cluster_name from customer_clusters"),
        columns=["person_id", "cluster_id", "cluster_name"],
    )
    both = ml_demo["before"].merge(after, on="person_id", suffixes=("_before", "_after"))
    assert len(both) >= 0.9 * len(ml_demo["before"])
    kept = (both["cluster_id_before"] == both["cluster_id_after"]).mean()
    runs = query(
        ml_demo["db"],
        "select run_number, matched_cluster_count, k_final, "
        "ari_vs_previous from segment_model_runs order by run_number",
    )
    print(
        f"\n+5% customers: {kept:.1%} of {len(both)} existing persons kept their cluster id; "
        f"runs {runs}"
    )
    assert kept >= 0.9
    # the persons who arrived entered their segments in the second build (those activation may
    # contact: marketing consent); nobody else did
    entered = {
        r[0]
        for r in query(
            ml_demo["db"],
            """
        select distinct person_id from segment_membership_changes
        where change_number = 2 and change_type = 'entered' and segment_family = 'rfm'""",
        )
    }
    contactable = {
        r[0]
        for r in query(
            ml_demo["db"],
            """
        select person_id from int_person_consents
        where purpose = 'marketing' and is_granted_latest""",
        )
    }
    existing = set(ml_demo["before"]["person_id"])
    new_persons = set(after["person_id"]) - existing
    assert new_persons & contactable and new_persons & contactable <= entered
    assert not (new_persons - contactable) & entered
    assert runs[1][1] >= runs[0][2] - 1  # all clusters but at most one matched
    assert runs[1][3] >= 0.8
    # a matched id keeps its name
    names = both.groupby("cluster_id_after")["cluster_name_after"].first()
    old = both.groupby("cluster_id_before")["cluster_name_before"].first()
    for cluster_id in set(names.index) & set(old.index):
        assert names[cluster_id] == old[cluster_id]


def test_a_rebuild_gives_identical_cluster_ids_and_names(ml_demo, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ml_demo["db"], work / "segments.duckdb")
    sql = (
        "select person_id, cluster_id, cluster_name, confidence, pca_x, pca_y "
        "from customer_clusters order by person_id"
    )
    before = query(work / "segments.duckdb", sql)
    changes = "select count(*), max(change_number) from segment_membership_changes"
    changes_before = query(work / "segments.duckdb", changes)
    run = run_dbt(
        [
            "build",
            "--select",
            "segment_model_runs",
            "customer_clusters",
            "cluster_scaler",
            "cluster_centroids",
            "customer_cluster_scores",
            "customer_segments",
            "segment_membership_changes",
        ],
        ml_demo["raw"],
        work,
        dbt_vars=ML_VARS,
    )
    assert run.returncode == 0, run.output[-4000:]
    assert query(work / "segments.duckdb", sql) == before
    assert query(work / "segments.duckdb", changes) == changes_before  # nothing entered or left
    # the same input, settings and as_of as the latest run: the log keeps that run, fits nothing
    runs = "select * exclude (fit_seconds) from segment_model_runs order by run_number"
    assert query(work / "segments.duckdb", runs) == query(ml_demo["db"], runs)


def test_a_failing_model_gate_keeps_the_last_good_model_and_skips_no_mart(ml_demo, tmp_path):
    """A run that fails its quality gate is logged but not used: with a silhouette threshold just
    under the latest good run's, a worse refit (k forced to another value) fails the gate, the
    build fails on the binding business gate only, and customer_clusters and the SQL scoring
    keep applying the good run, which the gate's message names."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ml_demo["db"], work / "segments.duckdb")
    good_id, good_number, good_silhouette, good_k = query(
        ml_demo["db"],
        """
        select run_id, run_number, silhouette, k_chosen from segment_model_runs
        order by run_number desc limit 1""",
    )[0]
    forced_k = 3 if good_k >= 6 else 10
    clusters = "select person_id, cluster_id, cluster_name from customer_clusters order by 1"
    before = query(ml_demo["db"], clusters)
    run = run_dbt(
        [
            "build",
            "--select",
            "segment_model_runs",
            "segment_model_runs_judged",
            "customer_clusters",
            "cluster_scaler",
            "cluster_centroids",
            "customer_cluster_scores",
            "supervised_model_runs_judged",
            "business_gate_results",
        ],
        ml_demo["raw"],
        work,
        dbt_vars={
            "cluster_k_min": forced_k,
            "cluster_k_max": forced_k,
            "cluster_min_silhouette": good_silhouette - 1e-6,
            "cluster_max_davies_bouldin": 100,
            "churn_min_auc": 0.999,
        },
    )
    db = work / "segments.duckdb"
    worse = query(
        db,
        "select run_number, silhouette, k_chosen from segment_model_runs "
        "order by run_number desc limit 1",
    )[0]
    assert worse[0] == good_number + 1 and worse[2] == forced_k
    assert worse[1] < good_silhouette, (worse, good_silhouette)
    assert run.returncode != 0
    failed = {
        r["unique_id"].split(".")[2] for r in run.results() if r["status"] in ("fail", "error")
    }
    assert failed == {"business_gates_binding"}, failed
    models = [r["status"] for r in run.results() if r["unique_id"].startswith("model.")]
    assert models == ["success"] * 8, models
    assert query(
        db, "select run_number, in_force_reason from segment_model_runs_judged where is_in_force"
    ) == [(good_number, "latest_run_failed_last_good_run_kept")]
    assert query(db, "select distinct model_run_id from customer_clusters") == [(good_id,)]
    assert query(db, clusters) == before
    disagreements = query(
        db,
        """
        select count(*) from customer_clusters as py
        full outer join customer_cluster_scores as sql on py.person_id = sql.person_id
        where py.cluster_id is distinct from sql.cluster_id""",
    )[0][0]
    assert disagreements == 0
    gates = dict(query(db, "select gate, message from business_gate_results where status = 'fail'"))
    assert set(gates) == {"cluster_silhouette", "churn_auc"}, gates
    assert (
        f"customer_clusters keeps run {good_number}, the last run that passed"
        in gates["cluster_silhouette"]
    )
    assert "needs at least churn_min_auc 0.999" in gates["churn_auc"]
    for message in gates.values():
        assert f"Business gate failed (error): {message}" in run.output


def test_cluster_size_gate_fails_when_the_minimum_cannot_be_met(ml_demo, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ml_demo["db"], work / "segments.duckdb")
    run = run_dbt(
        ["test", "--select", "customer_clusters"],
        ml_demo["raw"],
        work,
        dbt_vars={"cluster_min_size": 10**6},
    )
    assert run.returncode != 0
    failed = {r["unique_id"].split(".")[2] for r in run.results() if r["status"] == "fail"}
    assert any("group_size_at_least" in name for name in failed), failed


@pytest.mark.parametrize("algorithm", ["gmm", "dbscan", "hierarchical"])
def test_every_algorithm_builds_through_dbt(ml_demo, tmp_path, algorithm):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ml_demo["db"], work / "segments.duckdb")
    run = run_dbt(
        [
            "build",
            "--select",
            "segment_model_runs",
            "customer_clusters",
            "cluster_scaler",
            "cluster_centroids",
            "customer_cluster_scores",
            "cluster_profiles",
        ],
        ml_demo["raw"],
        work,
        dbt_vars={
            **ML_VARS,
            "cluster_algorithm": algorithm,
            "cluster_min_silhouette": -1,
            "cluster_max_davies_bouldin": 100,
        },
    )
    assert run.returncode == 0, run.output[-4000:]
    algorithm_run, scores = query(
        work / "segments.duckdb",
        """
        select algorithm, scores_by_k_json from segment_model_runs
        order by run_number desc limit 1""",
    )[0]
    assert algorithm_run == algorithm
    labelled = persons_with_personas(work / "segments.duckdb", ml_demo["truth"])
    ari = adjusted_rand_score(labelled["persona"], labelled["cluster_id"])
    print(f"\n{algorithm}: ARI against the personas {ari:.3f}, scores {json.loads(scores)}")
    assert ari > 0.1
