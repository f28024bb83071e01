"""Engine I/O for every dbt Python model, the same on DuckDB and Snowflake: a relation as a
pandas frame (dbt-duckdb gives DuckDB relations, Snowflake Snowpark frames with upper-case
columns), a model's own table (its history, for the incremental logs), column lists and
filtered reads that stay in the warehouse, and a frame back in the engine's column case."""

from __future__ import annotations

import pandas as pd


def relation_to_pandas(relation) -> pd.DataFrame:
    """A dbt.ref() result as a pandas frame with lower-case columns, on DuckDB (a DuckDB
    relation: .df()) and on Snowflake (a Snowpark frame: .to_pandas(), upper-case columns)."""
    frame = relation.to_pandas() if hasattr(relation, "to_pandas") else relation.df()
    frame.columns = [str(c).lower() for c in frame.columns]
    for column in frame.columns:  # NUMBER(p, s) may arrive as decimal.Decimal objects
        if frame[column].dtype == object:
            sample = frame[column].dropna()
            if len(sample) and type(sample.iloc[0]).__name__ == "Decimal":
                frame[column] = frame[column].astype("float64")
    return frame


def own_relation(dbt, session):
    """An incremental Python model's own table (dbt.this) as a relation (not read yet), or None
    on a first or full-refresh run. Snowpark reads tables with session.table, DuckDB with a
    query."""
    if not dbt.is_incremental:
        return None
    name = str(dbt.this)
    if type(session).__module__.startswith("snowflake"):
        return session.table(name)
    return session.sql(f"select * from {name}")


def read_own_history(dbt, session) -> pd.DataFrame | None:
    """An incremental Python model's own rows so far (dbt.this), or None on a first or
    full-refresh run."""
    relation = own_relation(dbt, session)
    return None if relation is None else relation_to_pandas(relation)


def _engine_columns(relation) -> dict[str, str]:
    """Lower-case column name -> the relation's own spelling (upper-case on Snowflake)."""
    return {str(c).strip('"').lower(): str(c) for c in relation.columns}


def relation_columns(relation) -> list[str]:
    """The column names of a relation (DuckDB or Snowpark), lower-case."""
    return list(_engine_columns(relation))


def select_columns(relation, columns: list[str]):
    """Only these columns (lower-case names) of a relation, before it is read: on DuckDB a
    projection, on Snowflake a select."""
    names = _engine_columns(relation)
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"relation lacks column(s) {missing}")
    if hasattr(relation, "to_pandas"):
        return relation.select([names[c] for c in columns])
    return relation.project(", ".join('"' + names[c].replace('"', '""') + '"' for c in columns))


def text_rows_where_in(relation, column: str, values: list[str], columns: list[str]):
    """The rows of a relation whose text `column` is one of `values`, with only the text
    `columns`, before it is read (a filter, then a select). Text only: Snowpark local testing
    (1.56) returns the integer columns of a filtered frame misaligned."""
    names = _engine_columns(relation)
    if hasattr(relation, "to_pandas"):
        from snowflake.snowpark.functions import col

        filtered = relation.filter(col(names[column]).isin([str(v) for v in values]))
    else:
        listed = ", ".join("'" + str(v).replace("'", "''") + "'" for v in values) or "null"
        filtered = relation.filter(f'"{names[column]}" in ({listed})')
    return select_columns(filtered, columns)


def for_engine(frame: pd.DataFrame, relation) -> pd.DataFrame:
    """Upper-case the columns on Snowflake (a Snowpark relation), where unquoted names are
    stored upper-case, and hand missing texts over as None; unchanged on DuckDB (where a typed
    string column keeps an all-null column VARCHAR)."""
    if hasattr(relation, "to_pandas"):
        frame = frame.copy()
        for column in frame.columns:  # Snowpark takes None for a missing text, not pd.NA
            # pd.NA of nullable texts, integers and booleans
            if isinstance(frame[column].dtype, pd.api.extensions.ExtensionDtype):
                frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
        frame.columns = [str(c).upper() for c in frame.columns]
    return frame
