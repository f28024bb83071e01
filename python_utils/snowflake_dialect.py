"""A strict Snowflake dialect check for compiled SQL, independent of any emulator's leniency.

Every statement must parse with sqlglot's Snowflake grammar (errors raised), and the parse is
then checked for what a lenient parser lets through: functions Snowflake does not have (DuckDB's
``list_*``, ``epoch_ms``, ``strftime``, ``timezone``, ...), unquoted interval quantities
(``interval 1 day``; Snowflake needs ``interval '1 day'``), and DuckDB spellings that sqlglot
silently maps to Snowflake ones (``string_agg``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

# Snowflake built-ins that sqlglot's Snowflake grammar parses as anonymous functions.
SNOWFLAKE_FUNCTIONS_UNKNOWN_TO_SQLGLOT = frozenset(
    name.upper()
    for name in (
        "try_to_timestamp_tz",
        "try_to_timestamp_ntz",
        "try_to_timestamp_ltz",
        "try_to_timestamp",
        "try_to_date",
        "try_to_number",
        "try_to_decimal",
        "try_to_double",
        "try_to_boolean",
        "to_timestamp_tz",
        "to_timestamp_ntz",
        "to_timestamp_ltz",
        "sha2_hex",
        "sha1_hex",
        "md5_hex",
        "hash",
        "uniform",
        "randstr",
        "seq4",
        "seq8",
        "listagg",
        "approx_count_distinct",
        "array_construct",
        "object_construct",
        "regexp_substr",
        "regexp_instr",
        "regexp_count",
        "ratio_to_report",
        "zeroifnull",
        "nullifzero",
        "div0",
        "div0null",
        "iff",
        "boolor_agg",
        "booland_agg",
        "kurtosis",
        "editdistance",
        "jarowinkler_similarity",
        "current_region",
        "last_query_id",
    )
)

# DuckDB (or other) spellings that sqlglot accepts and rewrites, but Snowflake rejects as written.
NOT_IN_SNOWFLAKE = frozenset({"STRING_AGG", "EPOCH", "EPOCH_MS", "STRFTIME", "STRPTIME"})
NOT_IN_SNOWFLAKE_PREFIXES = (
    "LIST_",
    "STRUCT_",
    "MAP_",
    "ARRAY_VALUE",
    "REGEXP_MATCHES",
    "REGEXP_FULL_MATCH",
    "READ_PARQUET",
    "READ_CSV",
)


@dataclass(frozen=True)
class Problem:
    """One reason a compiled node is not valid Snowflake SQL."""

    node: str
    message: str

    def __str__(self) -> str:
        return f"{self.node}: {self.message}"


def check_sql(sql: str, node: str = "<sql>") -> list[Problem]:
    """Problems that keep `sql` (one or more statements) from running on Snowflake."""
    problems: list[Problem] = []
    try:
        tokens = sqlglot.Dialect.get_or_raise("snowflake").tokenize(sql)
    except sqlglot.errors.TokenError as error:
        return [Problem(node, f"does not tokenize as Snowflake SQL: {error}")]
    for index, token in enumerate(tokens[:-1]):
        following = tokens[index + 1]
        if token.token_type == TokenType.INTERVAL and following.token_type == TokenType.NUMBER:
            problems.append(
                Problem(
                    node,
                    f"line {token.line}: unquoted interval 'interval {following.text} ...' "
                    "(Snowflake needs interval '<n> <unit>')",
                )
            )
        if following.token_type == TokenType.L_PAREN:
            name = token.text.upper()
            if name in NOT_IN_SNOWFLAKE or name.startswith(NOT_IN_SNOWFLAKE_PREFIXES):
                problems.append(
                    Problem(
                        node,
                        f"line {token.line}: function {token.text}() does not exist in Snowflake",
                    )
                )
    try:
        statements = sqlglot.parse(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    except sqlglot.errors.ParseError as error:
        first = error.errors[0] if error.errors else {}
        where = f"line {first.get('line')}: " if first.get("line") else ""
        return problems + [
            Problem(
                node, f"{where}does not parse as Snowflake SQL: {first.get('description', error)}"
            )
        ]
    for statement in statements:
        if statement is None:
            continue
        for function in statement.find_all(exp.Anonymous):
            name = function.name.upper()
            if name in SNOWFLAKE_FUNCTIONS_UNKNOWN_TO_SQLGLOT:
                continue
            if any(
                p.message.endswith(f"{function.name}() does not exist in Snowflake")
                for p in problems
            ):
                continue
            problems.append(
                Problem(node, f"function {function.name}() is not a Snowflake function")
            )
    return problems


def check_manifest(
    manifest_path: Path, resource_types=("model", "test", "analysis")
) -> list[Problem]:
    """Check the compiled SQL of every SQL node of the project in a compiled manifest."""
    manifest = json.loads(manifest_path.read_text())
    problems: list[Problem] = []
    checked = 0
    for node in manifest["nodes"].values():
        if node["resource_type"] not in resource_types or node.get("language", "sql") != "sql":
            continue
        code = node.get("compiled_code")
        if not code:
            continue
        label = f"{node['resource_type']} {node['name']} ({node['original_file_path']})"
        problems.extend(check_sql(code, label))
        checked += 1
    if checked == 0:
        problems.append(Problem(str(manifest_path), "no compiled SQL node found: run dbt compile"))
    return problems
