"""Reference buy-till-you-die summary on real public data, for the customer_rfm check.

Runs in .venv-snowpark (lifetimes needs pandas < 3). Reads the CDNOW master transactions that
the lifetimes package ships (23,570 real customers of an online CD shop, 1997-1998), writes them
as raw `orders` (CSV, data contract section 1) and writes lifetimes'
summary_data_from_transaction_data (daily periods, observation end = the last day) next to them.

usage: btyd_reference.py <raw_folder> <reference.csv>
"""

from __future__ import annotations

import os
import sys

import pandas as pd
from lifetimes.datasets import load_dataset
from lifetimes.utils import summary_data_from_transaction_data


def main(raw_folder: str, reference_path: str) -> int:
    transactions = load_dataset(
        "CDNOW_master.txt",
        header=0,
        sep=r"\s+",
        names=["customer_id", "date", "quantity", "amount"],
        dtype={"date": str},
    )
    transactions["date"] = pd.to_datetime(transactions["date"], format="%Y%m%d")
    observation_end = transactions["date"].max()

    orders = pd.DataFrame(
        {
            "order_id": [f"cdnow-{i}" for i in range(len(transactions))],
            "customer_id": transactions["customer_id"].astype(str),
            "ordered_at": transactions["date"].dt.strftime("%Y-%m-%dT12:00:00"),
            "status": "completed",
            "currency": "USD",
            "total_amount": transactions["amount"].map(lambda v: f"{v:.2f}"),
        }
    )
    os.makedirs(os.path.join(raw_folder, "orders"), exist_ok=True)
    orders.to_csv(os.path.join(raw_folder, "orders", "cdnow.csv"), index=False)

    summary = summary_data_from_transaction_data(
        transactions,
        "customer_id",
        "date",
        monetary_value_col="amount",
        observation_period_end=observation_end,
        freq="D",
    )
    summary.index = summary.index.astype(str)
    summary.reset_index().to_csv(reference_path, index=False)
    print(observation_end.date().isoformat())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
