"""Clustering benchmark: time and peak memory of the default clustering (fit with the k search,
then placing every person) at several population sizes, against a baseline in the same run.

The population of each size is drawn from a built project's customer_features (the demo
build, by default): persons are resampled with replacement and jittered by a little Gaussian
noise (so no two rows are identical), with new person ids. Every size runs in a fresh child
process so its peak memory (ru_maxrss) is its own. The baseline is one MiniBatchKMeans fit at
the chosen k plus predict, without the k search, merges, stable ids, names or PCA: what the
project adds costs the ratio. Prints progress and a table; writes JSON and an SVG chart.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT_DIR = Path(__file__).resolve().parent.parent


def project_params():
    """ClusterParams from dbt_project.yml's vars (what `dbt build` uses by default)."""
    import yaml

    from python_utils.clustering import ClusterParams

    variables = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    return ClusterParams(
        algorithm=variables["cluster_algorithm"],
        features=list(variables["cluster_features"]),
        k_values=list(range(variables["cluster_k_min"], variables["cluster_k_max"] + 1)),
        seed=variables["cluster_seed"],
        min_cluster_size=variables["cluster_min_size"],
        sample_size=variables["cluster_sample_size"],
        search_sample=variables["cluster_search_sample"],
        minibatch_above=variables["cluster_minibatch_above"],
        name_min_abs_z=variables.get("cluster_name_min_abs_z", 0.25),
    )


def synthetic_population(features: pd.DataFrame, size: int, seed: int) -> pd.DataFrame:
    """`size` persons resampled from `features` with 1% Gaussian jitter per numeric column."""
    rng = np.random.default_rng(seed)
    rows = features.iloc[rng.integers(0, len(features), size)].reset_index(drop=True)
    numeric = [
        c
        for c in rows.columns
        if c != "person_id"
        and c != "customer_id"
        and pd.api.types.is_numeric_dtype(rows[c])
        and not c.startswith("is_")
    ]
    spread = features[numeric].std().to_numpy() * 0.01
    rows[numeric] = rows[numeric].to_numpy() + rng.normal(0, 1, (size, len(numeric))) * spread
    rows["person_id"] = [f"bench-{i:08d}" for i in range(size)]
    return rows


def run_one(features_file: str, size: int) -> dict:
    """Child process: one size, timed stage by stage."""
    from sklearn.cluster import MiniBatchKMeans

    from python_utils.clustering import assign_clusters, fit_cluster_model, standardise

    params = project_params()
    started = time.perf_counter()
    population = synthetic_population(pd.read_parquet(features_file), size, seed=size)
    prepared = time.perf_counter()
    model, summary = fit_cluster_model(population, params)
    fitted = time.perf_counter()
    assignments = assign_clusters(model, population)
    assigned = time.perf_counter()
    matrix = standardise(population.sort_values("person_id"), model.features).matrix
    baseline = MiniBatchKMeans(
        n_clusters=max(summary["k_chosen"], 2), random_state=params.seed, n_init=1, batch_size=4096
    ).fit(matrix)
    baseline.predict(matrix)
    finished = time.perf_counter()
    return {
        "persons": size,
        "algorithm": summary["algorithm"],
        "k_chosen": summary["k_chosen"],
        "k_final": summary["k_final"],
        "silhouette": summary["validation"]["silhouette"],
        "prepare_seconds": round(prepared - started, 3),
        "fit_seconds": round(fitted - prepared, 3),
        "assign_seconds": round(assigned - fitted, 3),
        "clustering_seconds": round(assigned - prepared, 3),
        "baseline_seconds": round(finished - assigned, 3),
        "ratio_vs_baseline": round((assigned - prepared) / max(finished - assigned, 1e-9), 2),
        "persons_per_second": round(size / (assigned - prepared)),
        "assigned_persons": int(len(assignments)),
        "peak_memory_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run(database: str, sizes: list[int], out: str) -> int:
    import duckdb

    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    features_file = out_dir / "customer_features.parquet"
    with duckdb.connect(database, read_only=True) as connection:
        connection.execute(
            f"copy (select * from customer_features) to '{features_file}' (format parquet)"
        )
        persons = connection.execute("select count(*) from customer_features").fetchone()[0]
    print(
        f"customer_features of {database}: {persons:,} persons, resampled to "
        f"{', '.join(f'{s:,}' for s in sizes)}",
        flush=True,
    )
    results = []
    for size in sizes:
        print(f"  clustering {size:,} persons ...", flush=True)
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "python_utils.bench_clusters",
                "--child",
                str(features_file),
                str(size),
            ],
            capture_output=True,
            text=True,
            cwd=PROJECT_DIR,
        )
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append(result)
        print(
            f"    {result['clustering_seconds']:.1f} s (fit {result['fit_seconds']:.1f} s, "
            f"assign {result['assign_seconds']:.1f} s), peak {result['peak_memory_mb']:,.0f} MB",
            flush=True,
        )
    header = (
        f"{'persons':>10} {'algorithm':>17} {'k':>3} {'fit s':>7} {'assign s':>8} "
        f"{'total s':>8} {'persons/s':>10} {'peak MB':>8} {'baseline s':>10} {'ratio':>6}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(
            f"{r['persons']:>10,} {r['algorithm']:>17} {r['k_final']:>3} "
            f"{r['fit_seconds']:>7.1f} {r['assign_seconds']:>8.1f} "
            f"{r['clustering_seconds']:>8.1f} {r['persons_per_second']:>10,} "
            f"{r['peak_memory_mb']:>8,.0f} {r['baseline_seconds']:>10.1f} "
            f"{r['ratio_vs_baseline']:>6.2f}"
        )
    (out_dir / "bench_clusters.json").write_text(
        json.dumps(
            {"database": str(database), "source_persons": persons, "results": results}, indent=2
        )
    )
    from python_utils.charts import line_chart

    chart = line_chart(
        {
            "clustering (fit + assign)": [(r["persons"], r["clustering_seconds"]) for r in results],
            "baseline (one MiniBatchKMeans)": [
                (r["persons"], r["baseline_seconds"]) for r in results
            ],
        },
        "Clustering time against population",
        "persons",
        "seconds",
        log_x=True,
    )
    (out_dir / "bench_clusters.svg").write_text(chart)
    features_file.unlink()
    print(f"\nwrote {out_dir / 'bench_clusters.json'} and {out_dir / 'bench_clusters.svg'}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(run_one(sys.argv[2], int(sys.argv[3]))))
