"""Project conventions, checked over dbt's manifest and the built database.

Fails when a model, column, source or macro lacks a description, a model's key lacks tests,
a raw table lacks its row-accounting test, a layer reads from the wrong layer, or a variable
is not documented.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dbt_harness import PROJECT_DIR, query, run_dbt

LAYER_PREFIXES = {"staging": ("stg_", "base_"), "intermediate": ("int_",)}


@pytest.fixture(scope="module")
def manifest(dirty_demo) -> dict:
    return dirty_demo["run"].manifest


def _project_nodes(manifest: dict, resource_type: str) -> list[dict]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == resource_type and node["package_name"] == "segments"
    ]


def _layer(node: dict) -> str:
    return Path(node["original_file_path"]).parts[1]


def _tests_on(manifest: dict, node_id: str) -> list[dict]:
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and node_id in node["depends_on"]["nodes"]
        and node.get("attached_node") == node_id
    ]


def test_every_model_and_column_is_described_and_matches_the_database(manifest, dirty_demo):
    problems = []
    for node in _project_nodes(manifest, "model"):
        name = node["name"]
        if not node["description"].strip():
            problems.append(f"{name}: no description")
        documented = {c: v["description"] for c, v in node["columns"].items()}
        for column, description in documented.items():
            if not description.strip():
                problems.append(f"{name}.{column}: no description")
        actual = [
            c
            for (c,) in query(
                dirty_demo["db"],
                "select column_name from information_schema.columns "
                f"where table_schema = 'main' and table_name = '{name}'",
            )
        ]
        if node["config"]["materialized"] == "ephemeral":
            continue  # inlined where it is used: no relation, no columns to compare
        if not actual:
            problems.append(f"{name}: not built")
        for column in set(actual) - set(documented):
            problems.append(f"{name}.{column}: column not documented")
        for column in set(documented) - set(actual):
            problems.append(f"{name}.{column}: documented column does not exist")
    assert problems == []


def test_every_model_key_is_tested(manifest):
    problems = []
    for node in _project_nodes(manifest, "model"):
        key = node["config"].get("meta", {}).get("primary_key")
        if not key:
            problems.append(f"{node['name']}: no meta.primary_key")
            continue
        tests = _tests_on(manifest, node["unique_id"])
        names = {
            (t["test_metadata"]["name"], t.get("column_name"))
            for t in tests
            if t.get("test_metadata")
        }
        if len(key) == 1:
            for required in ("unique", "not_null"):
                if (required, key[0]) not in names:
                    problems.append(f"{node['name']}.{key[0]}: no {required} test")
        else:
            combos = [
                t["test_metadata"]["kwargs"].get("combination")
                for t in tests
                if t.get("test_metadata", {}).get("name") == "unique_combination"
            ]
            if list(key) not in combos:
                problems.append(f"{node['name']}: no unique_combination test on {key}")
    assert problems == []


def test_every_source_is_described_and_accounted_for(manifest):
    problems = []
    for source in manifest["sources"].values():
        label = f"{source['source_name']}.{source['name']}"
        if not source["description"].strip() or not source["source_description"].strip():
            problems.append(f"{label}: no description")
        for column, spec in source["columns"].items():
            if not spec["description"].strip():
                problems.append(f"{label}.{column}: no description")
        tests = [
            n
            for n in manifest["nodes"].values()
            if n["resource_type"] == "test"
            and source["unique_id"] in n["depends_on"]["nodes"]
            and n.get("test_metadata", {}).get("name") == "rows_accounted_for"
        ]
        if not tests:
            problems.append(f"{label}: no rows_accounted_for test")
    assert problems == []


def test_every_seed_and_seed_column_is_described(manifest, dirty_demo):
    problems = []
    for node in _project_nodes(manifest, "seed"):
        if not node["description"].strip():
            problems.append(f"{node['name']}: no description")
        documented = {c for c, v in node["columns"].items() if v["description"].strip()}
        actual = {
            c
            for (c,) in query(
                dirty_demo["db"],
                "select column_name from information_schema.columns "
                f"where table_schema = 'main' and table_name = '{node['name']}'",
            )
        }
        if not actual:
            problems.append(f"{node['name']}: not loaded")
        problems += [f"{node['name']}.{c}: not described" for c in actual - documented]
    assert problems == []


def test_every_project_macro_is_described(manifest):
    missing = [
        macro["name"]
        for macro in manifest["macros"].values()
        if macro["package_name"] == "segments" and not macro["description"].strip()
    ]
    assert missing == []


def test_layers_and_names(manifest):
    problems = []
    for node in _project_nodes(manifest, "model"):
        layer = _layer(node)
        name = node["name"]
        parents = [
            manifest["nodes"].get(p) or manifest["sources"].get(p)
            for p in node["depends_on"]["nodes"]
        ]
        if layer in LAYER_PREFIXES and not name.startswith(LAYER_PREFIXES[layer]):
            problems.append(f"{name}: a {layer} model must start with {LAYER_PREFIXES[layer]}")
        if layer == "marts" and name.startswith(("stg_", "base_", "int_")):
            problems.append(f"{name}: marts carry business names without layer prefixes")
        for parent in parents:
            if parent["resource_type"] == "source" and layer != "staging":
                problems.append(f"{name}: source() outside staging")
            if layer != "staging" and parent["name"].startswith("base_"):
                problems.append(
                    f"{name} ({layer}) reads {parent['name']}: base_* models are private to staging"
                )
            if parent["resource_type"] == "model":
                parent_layer = _layer(parent)
                order = ["staging", "intermediate", "marts"]
                if order.index(parent_layer) > order.index(layer):
                    problems.append(f"{name} ({layer}) reads {parent['name']} ({parent_layer})")
    assert problems == []


def test_every_variable_is_declared_and_documented():
    project = (PROJECT_DIR / "dbt_project.yml").read_text()
    after_vars = project.split("\nvars:\n", 1)[1]
    vars_block = re.split(r"^\S", after_vars, maxsplit=1, flags=re.M)[0]
    declared = re.findall(r"^  (\w+):", vars_block, flags=re.M)
    used = set()
    for path in [
        *PROJECT_DIR.glob("models/**/*.sql"),
        *PROJECT_DIR.glob("macros/**/*.sql"),
        *PROJECT_DIR.glob("models/**/*.yml"),
    ]:
        used |= set(re.findall(r"(?<!env_)var\(\s*['\"](\w+)['\"]", path.read_text()))
    assert used - set(declared) == set(), "variables used but not declared in dbt_project.yml"
    from python_utils.variables import OUTPUT, parse, render

    variables = parse()
    assert [v["name"] for v in variables] == declared
    assert [v["name"] for v in variables if not v["description"]] == []
    # docs/variables.md is generated from dbt_project.yml: stale means someone edited one only
    assert OUTPUT.read_text() == render(variables), (
        "docs/variables.md is stale: run python -m python_utils variables"
    )
    lines = vars_block.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"^  (\w+):", line)
        if match:
            has_comment = "#" in line or (index > 0 and lines[index - 1].strip().startswith("#"))
            assert has_comment, f"variable {match.group(1)} has no comment in dbt_project.yml"


def test_docs_generate_works_offline(dirty_demo):
    run = run_dbt(["docs", "generate"], dirty_demo["raw"], dirty_demo["root"] / "work")
    assert run.returncode == 0, run.output[-3000:]
    catalog = json.loads((run.target_path / "catalog.json").read_text())
    assert "model.segments.stg_app__events" in catalog["nodes"]
    assert (run.target_path / "index.html").exists()


def test_no_metric_or_semantic_model_shares_a_model_name(manifest):
    """`--select +name` matches every resource of that name: a metric named like a model would
    pull the whole semantic layer's lineage into a selection meant for the model."""
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    semantic = [m["name"] for m in manifest.get("metrics", {}).values()] + [
        s["name"] for s in manifest.get("semantic_models", {}).values()
    ]
    assert len(semantic) >= 10
    assert sorted(set(semantic) & models) == []
