"""A PII scanner for built relations: raw emails, phone numbers and postal codes in any cell.

Every column of every scanned relation is cast to varchar and checked cell by cell in DuckDB:

* ``email``: an e-mail address anywhere in the cell (a regex; hashes never contain '@').
* ``phone``: the whole cell written as a phone number in a common format (+1 (555) 123-4567,
  +44 7700 900123, 0044 20 7946 0958, 555.123.4567, 07700 900123, 07700900123), or a raw
  customer's phone number: the cell's digits (when the cell holds nothing but phone characters)
  or any run of 9 or more digits inside it equal to a raw phone's digits, with or without its
  country code. Generic formats are matched against the whole cell so that timestamps, decimals
  and hex hashes (which contain digit runs) are not taken for phones (nor is a signed decimal
  such as '+1.234567890'); the raw numbers catch
  bare digit strings and numbers stored as integers.
* ``postal_code``: the whole cell equal to a raw customer's postal code. An alphanumeric code
  ('K1A 0B1', also without the space) is distinctive, so it is flagged in any column. A purely
  numeric code ('1234', '01234') equals countless counts, amounts and years, so it is flagged
  only in columns whose name says location (postal, zip, plz, address, location, city, geo): as
  written in a text column, without its leading zeros in an integer column. Flagging every 4-
  or 5-digit number would make the check so noisy that people stop reading it, and a numeric
  postal code carried into a mart travels under a location-like name in practice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

EMAIL_REGEX = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
#: whole-cell phone formats (the cell must also hold 9 to 15 digits)
PHONE_FORMATS: tuple[str, ...] = (
    r"(\+|00)[1-9][0-9 ().-]{7,22}",  # international: +1 5551234567, 0044 20 7946 0958
    r"\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-][0-9]{4}",  # North American: (555) 123-4567, 555.123.4567
    r"0[0-9]{2,4}[ -][0-9]{3,4}([ -]?[0-9]{3,4})?",  # national trunk 0: 07700 900123, 020 7946 0958
    r"0[0-9]{9,10}",  # national trunk 0, no separators: 07700900123
)
PHONE_CHARACTERS = r"[0-9 ()+./-]+"
#: a signed decimal ('+1.234567890') is not a phone, whatever its digits
DECIMAL = r"[+-]?[0-9]*\.[0-9]+([eE][+-]?[0-9]+)?"
#: column names under which a purely numeric raw postal code counts as a leak
LOCATION_COLUMN = re.compile(
    r"postal|zip|plz|post_?code|address|location|city|town|geo", re.IGNORECASE
)
KINDS = ("email", "phone", "postal_code")
#: a phone digit string shorter than this is not matched as a run inside a cell
MIN_PHONE_DIGITS = 9


@dataclass(frozen=True)
class RawPii:
    """Values of the raw customers that must not appear downstream of staging."""

    phone_digits: frozenset[str]  # digits only, with and without the country code
    postal_codes_alnum: frozenset[str]  # upper case, as written and without spaces
    postal_codes_numeric: frozenset[str]  # digits only, as written ('01234')


@dataclass(frozen=True)
class PiiFinding:
    """One kind of PII found in one column of one relation."""

    relation: str
    column: str
    kind: str  # 'email', 'phone' or 'postal_code'
    cells: int
    example: str  # masked

    def __str__(self) -> str:
        return (
            f"{self.relation}.{self.column}: {self.kind} in {self.cells} cell(s),"
            f" e.g. {self.example!r}"
        )


def mask(value: str) -> str:
    """Keep the first two and the last character, every other letter or digit becomes '*'."""
    if len(value) <= 3:
        return "*" * len(value)
    middle = re.sub(r"[A-Za-z0-9]", "*", value[2:-1])
    return value[:2] + middle + value[-1]


def phone_digit_variants(phone: str, national_digits: int = 10) -> set[str]:
    """Digit strings a raw phone can appear as: all its digits, and its national part (the last
    national_digits digits, i.e. without the country code) when it has a country code."""
    digits = re.sub(r"\D", "", phone)
    variants = {digits} if len(digits) >= MIN_PHONE_DIGITS else set()
    if phone.strip().startswith(("+", "00")) and len(digits) > national_digits:
        variants.add(digits[-national_digits:])
        variants.add("0" + digits[-national_digits:])  # national format with trunk prefix 0
    return variants


def raw_pii_from_customers(customers_folder: Path) -> RawPii:
    """The phones and postal codes of every raw customers file (*.parquet and *.csv)."""
    selects = []
    if list(customers_folder.glob("*.parquet")):
        selects.append(
            "select cast(phone as varchar) as phone, cast(postal_code as varchar) as postal_code"
            f" from read_parquet('{customers_folder}/*.parquet', union_by_name = true)"
        )
    if list(customers_folder.glob("*.csv")):
        selects.append(
            "select phone, postal_code"
            f" from read_csv('{customers_folder}/*.csv', all_varchar = true, union_by_name = true)"
        )
    if not selects:
        raise FileNotFoundError(f"no *.parquet or *.csv file in {customers_folder}")
    with duckdb.connect() as connection:
        rows = connection.sql(" union all ".join(selects)).fetchall()
    phones: set[str] = set()
    alnum: set[str] = set()
    numeric: set[str] = set()
    for phone, postal in rows:
        if phone and phone.strip():
            phones |= phone_digit_variants(phone)
        if postal and postal.strip():
            code = postal.strip().upper()
            if code.isdigit():
                numeric.add(code)
            else:
                alnum.update({code, re.sub(r"\s", "", code)})
    return RawPii(frozenset(phones), frozenset(alnum), frozenset(numeric))


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


INTEGER_TYPES = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
)
_DIGITS = "regexp_replace(v, '[^0-9]', '', 'g')"
_FLAGS = {
    "email": f"regexp_matches(v, '{EMAIL_REGEX}')",
    "phone": (
        "(("
        + " or ".join(f"regexp_full_match(v, '{pattern}')" for pattern in PHONE_FORMATS)
        + f") and length({_DIGITS}) between 9 and 15 and not regexp_full_match(v, '{DECIMAL}'))"
        f" or (regexp_full_match(v, '{PHONE_CHARACTERS}')"
        f" and {_DIGITS} in (select value from pii_phone_digits))"
        f" or list_has_any(regexp_extract_all(v, '[0-9]{{{MIN_PHONE_DIGITS},}}'),"
        " (select list(value) from pii_phone_digits))"
    ),
    "postal_code": (
        "upper(v) in (select value from pii_postal_alnum)"
        " or (numeric_postal and not integer_column"
        " and v in (select value from pii_postal_numeric))"
        " or (numeric_postal and integer_column"
        " and v in (select unpadded from pii_postal_numeric))"
    ),
}
assert tuple(_FLAGS) == KINDS


def _load_raw_values(connection: duckdb.DuckDBPyConnection, raw: RawPii) -> None:
    """The raw values as temporary tables (a read-only connection may create those)."""
    for table, values in (
        ("pii_phone_digits", raw.phone_digits),
        ("pii_postal_alnum", raw.postal_codes_alnum),
        ("pii_postal_numeric", raw.postal_codes_numeric),
    ):
        connection.execute(
            f"create or replace temp table {table} as"
            " select value, coalesce(nullif(ltrim(value, '0'), ''), '0') as unpadded"
            " from (select unnest(cast(? as varchar[])) as value)",
            [sorted(values)],
        ).fetchall()


def scan_relation(
    connection: duckdb.DuckDBPyConnection, name: str, relation: str, raw: RawPii
) -> list[PiiFinding]:
    """Findings in one relation (a qualified, quoted name readable on the connection): every
    column cast to varchar, one row per non-null cell, each cell checked once per kind."""
    _load_raw_values(connection, raw)
    columns = [row[:2] for row in connection.sql(f"describe select * from {relation}").fetchall()]
    casts = ", ".join(
        f"trim(cast({_quote(column)} as varchar)) as c{position}"
        for position, (column, _) in enumerate(columns)
    )
    column_info = ", ".join(
        f"('c{position}', {bool(LOCATION_COLUMN.search(column))},"
        f" {column_type.upper() in INTEGER_TYPES})"
        for position, (column, column_type) in enumerate(columns)
    )
    flags = ", ".join(f"({predicate}) as is_{kind}" for kind, predicate in _FLAGS.items())
    aggregates = ", ".join(
        f"count(*) filter (where is_{kind}), min(v) filter (where is_{kind})" for kind in KINDS
    )
    sql = f"""
        with wide as (select {casts} from {relation}),
        cells as (unpivot wide on columns(*) into name position value v),
        column_info as (
            select * from (values {column_info}) as info(position, numeric_postal, integer_column)
        ),
        flagged as (
            select position, v, {flags}
            from cells inner join column_info using (position)
        )
        select position, {aggregates} from flagged group by position
    """
    findings = []
    for position, *row in connection.sql(sql).fetchall():
        column = columns[int(position[1:])][0]
        for index, kind in enumerate(KINDS):
            count, example = row[2 * index], row[2 * index + 1]
            if count:
                findings.append(PiiFinding(name, column, kind, count, mask(example)))
    return findings


def scan_relations(
    connection: duckdb.DuckDBPyConnection, relations: Mapping[str, str], raw: RawPii
) -> list[PiiFinding]:
    """Findings in every relation of {display name: qualified relation}."""
    findings: list[PiiFinding] = []
    for name, relation in relations.items():
        findings.extend(scan_relation(connection, name, relation, raw))
    return findings


def downstream_of_staging(
    manifest: dict, folders: Iterable[str] = ("models/intermediate", "models/marts")
) -> dict[str, str]:
    """{model name: "schema"."alias"} of every non-ephemeral model under the given folders."""
    prefixes = tuple(folder.rstrip("/") + "/" for folder in folders)
    return {
        node["name"]: f"{_quote(node['schema'])}.{_quote(node['alias'] or node['name'])}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].startswith(prefixes)
        and node["config"]["materialized"] != "ephemeral"
    }
