"""PII that stays private: the demo salt is announced (and refused on real Snowflake targets),
and no raw email, phone number or postal code reaches a model downstream of staging."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest
import yaml

from dbt_harness import FakesnowServer, run_dbt, write_profiles
from pii_scanner import (
    RawPii,
    downstream_of_staging,
    mask,
    phone_digit_variants,
    raw_pii_from_customers,
    scan_relation,
    scan_relations,
)

DEMO_SALT_WARNING = "WARNING: PII is hashed with the built-in demo salt"
SALT_ERROR = "SEGMENTS_PII_SALT is unset, blank or the public demo salt on Snowflake target"


def uses_demo_salt(env: dict[str, str]) -> bool:
    salt = env.get("SEGMENTS_PII_SALT")
    return salt is None or salt.strip() in ("", "segments-demo-salt")


# --- the salt -------------------------------------------------------------------------------


def test_a_build_with_the_demo_salt_says_so_in_its_log(dirty_demo):
    output = dirty_demo["run"].output
    if uses_demo_salt(dict(os.environ)):
        warnings = [line for line in output.splitlines() if DEMO_SALT_WARNING in line]
        assert len(warnings) == 1, output[:3000]  # once per invocation, not once per model
        assert "SEGMENTS_PII_SALT" in warnings[0]
    else:  # a secret salt in the environment: no warning
        assert DEMO_SALT_WARNING not in output


def snowflake_profiles(folder: Path, extra_output: str) -> Path:
    """profiles.yml of the set-up plus an output named extra_output, a copy of snowflake_local
    (so a real Snowflake target's name, pointing at the fakesnow server)."""
    profiles = write_profiles(folder)
    document = yaml.safe_load((profiles / "profiles.yml").read_text())
    outputs = document["segments"]["outputs"]
    outputs[extra_output] = dict(outputs["snowflake_local"])
    (profiles / "profiles.yml").write_text(yaml.safe_dump(document))
    return profiles


def relation_names(server: FakesnowServer) -> set[str]:
    """Tables and views of every schema of the SEGMENTS database, lower case."""
    with server.connect() as connection:
        cursor = connection.cursor()
        cursor.execute("show objects in database SEGMENTS")
        return {row[1].lower() for row in cursor.fetchall()}


def test_the_demo_salt_stops_a_build_on_a_snowflake_target_before_any_model(tmp_path):
    raw = tmp_path / "raw"  # no raw files: nothing here needs data
    raw.mkdir()
    profiles = snowflake_profiles(tmp_path / "profiles", "snowflake_ci")
    env = {key: value for key, value in os.environ.items() if key != "SEGMENTS_PII_SALT"}
    select = ["build", "--select", "+base_crm__customers"]  # with the seeds it reads
    with FakesnowServer(tmp_path / "fakesnow.log") as server:
        with server.connect() as connection:
            connection.cursor().execute("create database if not exists SEGMENTS")
        base = {**env, "FAKESNOW_PORT": str(server.port), "DBT_PROFILES_DIR": str(profiles)}

        def build(target: str, salt: str | None, work: str, **kwargs):
            run_env = {**base, **({"SEGMENTS_PII_SALT": salt} if salt is not None else {})}
            return run_dbt(
                select,
                raw,
                tmp_path / work,
                target=target,
                timeout=300,
                extra_env=run_env,
                **kwargs,
            )

        refused = build("snowflake_ci", None, "refused")
        assert refused.returncode != 0, refused.output[-3000:]
        assert SALT_ERROR in refused.output and "'snowflake_ci'" in refused.output
        assert not [r for r in refused.run_results if r["unique_id"].startswith("model.")]
        assert "base_crm__customers" not in relation_names(server)
        assert "customers" not in relation_names(server)  # not even the landing views

        # The same target with a secret salt builds the model: the salt was the only obstacle
        # (shims on, because the emulator lacks some functions real Snowflake has).
        allowed = build(
            "snowflake_ci", "a-secret-salt", "allowed", dbt_vars={"fakesnow_shims": True}
        )
        assert allowed.returncode == 0, allowed.output[-3000:]
        assert SALT_ERROR not in allowed.output and DEMO_SALT_WARNING not in allowed.output
        assert "base_crm__customers" in relation_names(server)

        # The emulator target keeps the demo salt, with the warning.
        local = build("snowflake_local", None, "local")
        assert local.returncode == 0, local.output[-3000:]
        assert DEMO_SALT_WARNING in local.output


# --- the scanner ----------------------------------------------------------------------------


def test_mask_keeps_only_a_hint_of_the_value():
    assert mask("anna.smith.12@gmail.com") == "an**.*****.**@*****.**m"
    assert mask("+1 5551234567") == "+1 *********7"
    assert mask("K1A") == "***"


def test_phone_variants_cover_the_generators_format():
    # python_utils/generator.py writes a dial code, a space and ten digits: '+1 5551234567'
    assert phone_digit_variants("+1 5551234567") == {"15551234567", "5551234567", "05551234567"}
    assert phone_digit_variants("555.123.4567") == {"5551234567"}
    assert phone_digit_variants("12345") == set()


@pytest.fixture
def planted(tmp_path) -> tuple[duckdb.DuckDBPyConnection, RawPii]:
    """A tiny database with planted PII and look-alikes that are not PII, and raw customers."""
    customers = tmp_path / "raw" / "customers"
    customers.mkdir(parents=True)
    (customers / "customers.csv").write_text(
        "customer_id,email,phone,postal_code\n"
        "C1,anna.smith.1@gmail.com,+1 5550001111,01234\n"
        "C2,ben.jones.2@web.de,+44 7700900123,K1A 0B1\n"
        "C3,carla.rossi.3@proton.me,,4321\n"
    )
    raw = raw_pii_from_customers(customers)
    connection = duckdb.connect(str(tmp_path / "planted.duckdb"))
    connection.execute(
        """
        create table leaky (
            note varchar, contact varchar, phone_number bigint, label varchar, zip varchar,
            postal_area integer, order_count integer, amount varchar, happened_at timestamp,
            fingerprint varchar, customer_id varchar
        )
        """
    ).fetchall()
    connection.execute(
        """
        insert into leaky values
            ('write to anna.smith.1@gmail.com', '+1 (555) 000-1111', 5550001111, 'K1A 0B1',
             '01234', 4321, 1234, '0.123456789', '2024-01-02 10:11:12',
             'a1b2c3d_5550001111_e9', 'C0001234'),
            (null, '555.123.4567', null, 'k1a0b1', null, null, 4321, '12345.67', null,
             'f00d', 'C0004321'),
            (null, '0044 20 7946 0958', null, null, null, null, 1, null, null, null, null),
            (null, '07700 900123', null, null, null, null, 2, null, null, null, null)
        """
    ).fetchall()
    connection.execute(
        """
        create table clean as select
            'C0000001' as customer_id, 1234 as order_count, 1234 as signup_year,
            '01234' as segment_code, '0.5551234567' as share, '2024-01-02' as day,
            '+1.234567890' as signed_delta, '2024-01-02 10:11:12+00' as logged_at,
            'c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2' as email_hash,
            '012' as postal_code_prefix
        """
    ).fetchall()
    yield connection, raw
    connection.close()


def test_the_scanner_finds_each_planted_kind_and_names_model_and_column(planted):
    connection, raw = planted
    found = {(f.column, f.kind): f for f in scan_relation(connection, "leaky", "main.leaky", raw)}
    assert set(found) == {
        ("note", "email"),
        ("contact", "phone"),  # raw phone in another format, and three generic formats
        ("phone_number", "phone"),  # a raw phone stored as an integer, without country code
        ("fingerprint", "phone"),  # a raw phone's digits inside a longer value
        ("label", "postal_code"),  # an alphanumeric postal code, in any column
        ("zip", "postal_code"),  # a numeric postal code in a location-named text column
        ("postal_area", "postal_code"),  # ... and in an integer one (leading zeros lost)
    }, sorted(found)
    assert found[("contact", "phone")].cells == 4
    assert found[("label", "postal_code")].cells == 2  # with and without the space
    for finding in found.values():
        assert finding.relation == "leaky"
        assert finding.example and "gmail" not in finding.example
    assert "leaky.note: email in 1 cell(s)" in str(found[("note", "email")])


def test_the_scanner_leaves_numbers_dates_ids_and_hashes_alone(planted):
    connection, raw = planted
    assert scan_relation(connection, "clean", "main.clean", raw) == []


# --- the real build -------------------------------------------------------------------------


def test_no_raw_email_phone_or_postal_code_downstream_of_staging(dirty_demo):
    """Every intermediate and mart model of the dirty demo build, every column."""
    raw = raw_pii_from_customers(dirty_demo["raw"] / "customers")
    assert raw.phone_digits and raw.postal_codes_alnum and raw.postal_codes_numeric
    relations = downstream_of_staging(dirty_demo["run"].manifest)
    assert {"customer_segments", "sessions", "int_customers_permitted"} <= set(relations)
    with duckdb.connect(str(dirty_demo["db"]), read_only=True) as connection:
        # The scanner sees the raw PII where it legitimately is (the landing view of the raw
        # customers): it can fail on this data.
        landing = {
            f.kind for f in scan_relation(connection, "landing", '"landing"."customers"', raw)
        }
        assert landing == {"email", "phone", "postal_code"}
        findings = scan_relations(connection, relations, raw)
    assert findings == [], "PII downstream of staging:\n" + "\n".join(map(str, findings))
