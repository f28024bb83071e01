"""How well each clustering algorithm recovers the generator's planted personas, on a built
project (`python -m python_utils evaluate-clusters`): every algorithm is fitted in-process on the
database's customer_features with the project's settings, and its assignment is compared with
the ground truth by the adjusted Rand index. Also draws the default model's clusters on the two
PCA axes (SVG) so the result can be looked at, not only read."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

PERSONA_SQL = """
with personas as (select * from read_parquet('{truth}/personas.parquet')),
devices as (select * from read_parquet('{truth}/identity_links.parquet')),
subject_personas as (
    select subject_id, persona from personas
    union all
    select devices.anonymous_id, personas.persona
    from devices inner join personas on devices.customer_id = personas.subject_id
)
select persons.person_id, min(subject_personas.persona) as persona
from int_persons as persons
left join int_identity_resolved as ids on persons.person_id = ids.person_id
inner join subject_personas
    on subject_personas.subject_id = coalesce(persons.customer_id, ids.id_value)
group by persons.person_id
"""


def persona_of_persons(connection, truth: Path) -> pd.DataFrame:
    """person_id and planted persona: a customer's own; an anonymous-only person's from its
    anonymous ids (an anonymous browser's persona, or the persona of the customer whose device
    it is, for devices the data never linked)."""
    return connection.sql(PERSONA_SQL.format(truth=truth)).df()


def evaluate(database: str, truth: str, algorithms: list[str], out: str) -> int:
    import duckdb
    from sklearn.metrics import adjusted_rand_score

    from python_utils.bench_clusters import project_params
    from python_utils.charts import scatter_chart
    from python_utils.clustering import ClusterParams, assign_clusters, fit_cluster_model

    with duckdb.connect(database, read_only=True) as connection:
        features = connection.sql("select * from customer_features").df()
        personas = persona_of_persons(connection, Path(truth))
    base = project_params()
    print(
        f"{len(features):,} persons in customer_features, {len(personas):,} with a planted "
        f"persona; features: {', '.join(base.features)}"
    )
    print(
        f"\n{'algorithm':<14} {'k':>3} {'ARI':>6} {'ARI observed':>13} {'silhouette':>11} "
        f"{'seconds':>8}"
    )
    observed = features.loc[~features["is_behaviour_imputed"].astype(bool), "person_id"]
    default_assignments = None
    for algorithm in algorithms:
        params = ClusterParams(**{**base.__dict__, "algorithm": algorithm})
        started = time.perf_counter()
        model, summary = fit_cluster_model(features, params)
        assignments = assign_clusters(model, features)
        seconds = time.perf_counter() - started
        labelled = assignments.merge(personas, on="person_id")
        seen = labelled[labelled["person_id"].isin(observed)]
        print(
            f"{algorithm:<14} {summary['k_final']:>3} "
            f"{adjusted_rand_score(labelled['persona'], labelled['cluster_id']):>6.3f} "
            f"{adjusted_rand_score(seen['persona'], seen['cluster_id']):>13.3f} "
            f"{summary['validation']['silhouette'] or float('nan'):>11.3f} {seconds:>8.1f}"
        )
        if algorithm == base.algorithm:
            default_assignments = labelled
    if default_assignments is not None:
        crosstab = pd.crosstab(default_assignments["cluster_name"], default_assignments["persona"])
        print(
            f"\npersons per cluster ({base.algorithm}) and planted persona:\n{crosstab.to_string()}"
        )
        sample = default_assignments.sort_values("person_id").iloc[
            :: max(1, len(default_assignments) // 4000)
        ]
        Path(out).mkdir(parents=True, exist_ok=True)
        svg = Path(out) / "clusters_pca.svg"
        svg.write_text(
            scatter_chart(
                [
                    (x, y, name)
                    for x, y, name in zip(sample["pca_x"], sample["pca_y"], sample["cluster_name"])
                ],
                f"Clusters ({base.algorithm}) on the first two principal components",
                "pca_x",
                "pca_y",
            )
        )
        print(f"\nwrote {svg}")
    return 0
