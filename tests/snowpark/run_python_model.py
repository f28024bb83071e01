"""Run one dbt Python model, as dbt-snowflake compiled it, on a Snowpark local-testing session.

Runs inside the separate Snowpark environment (.venv-snowpark: Snowpark's pandas extra needs
pandas < 3). Input: a JSON job file with
  code      the model's compiled code from dbt's manifest (model + the ref/config/dbtObj
            helpers dbt-snowflake generates)
  target    the fully-qualified table the model writes (dbt's `this`)
  inputs    {fully-qualified relation: parquet file} for every ref/source the model reads
  sys_path  folders to import from (the project root, for python_utils)
It loads the inputs as Snowpark tables (upper-case column names, as Snowflake stores them),
then does what dbt-snowflake's generated stored procedure does: builds `dbt` from session.table,
calls model(dbt, session), turns a pandas result into a Snowpark frame and saves it as the
target table. Prints a JSON summary of the written table.
"""

from __future__ import annotations

import json
import sys

import pandas as pd
from snowflake.snowpark import Session


def main(job_path: str) -> int:
    job = json.loads(open(job_path).read())
    sys.path[:0] = job.get("sys_path", [])
    session = Session.builder.config("local_testing", True).create()
    for name, parquet in job["inputs"].items():
        frame = pd.read_parquet(parquet)
        frame.columns = [c.upper() for c in frame.columns]
        session.create_dataframe(frame).write.mode("overwrite").save_as_table(name)

    namespace: dict = {"__name__": "dbt_python_model"}
    exec(compile(job["code"], job["target"], "exec"), namespace)
    dbt = namespace["dbtObj"](session.table)
    result = namespace["model"](dbt, session)
    if isinstance(result, pd.DataFrame):
        result = session.create_dataframe(result)
    result.write.mode("overwrite").save_as_table(job["target"])

    written = session.table(job["target"]).to_pandas()
    print(
        json.dumps(
            {
                "target": job["target"],
                "result_type": type(result).__module__ + "." + type(result).__name__,
                "columns": list(written.columns),
                "row_count": int(len(written)),
                "pandas_version": pd.__version__,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
