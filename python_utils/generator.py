"""Synthetic demo-data generator for the audience-segmentation project.

The generator writes realistic raw data for an e-commerce / content site: web and
e-mail events, orders and order items, customers, products, consents, deletion
requests, survey answers and experiment assignments.  Behaviour is driven by
*planted personas* (bargain hunters, loyal high spenders, window shoppers, ...)
so that downstream segmentation and clustering has a known ground truth.

Design notes
------------
* Everything is vectorised with numpy; Python loops only run over personas,
  event types, tables and chunks of customers, never over single rows.
* Customers are processed in chunks.  Every chunk draws from its own random
  generator ``default_rng(SeedSequence(seed, spawn_key=(1, chunk)))`` so the
  output depends only on the arguments, never on timing.  IDs that are global
  (anonymous ids, order ids, event ids) are assigned sequentially in chunk order.
* Every timestamp column is written as an ISO-8601 *string*
  (``YYYY-MM-DDTHH:MM:SS``, UTC, no offset) so that injected defects
  (unparseable values, UTC offsets) are representable.
* Optional dirty data (``dirty_rate``) is injected per table; every injected row
  is listed in ``<truth>/dirty_rows.parquet`` with its file and 0-based row.
* Identity and data-quality cases are planted after the simulation of each chunk, with random
  streams of their own (so the rest of the data does not move): second CRM records of one
  human (``crm_duplicate_rate``), near-miss groups of different humans, internal accounts with
  test orders, and outliers. Dirt spares the planted rows. See docs/ground-truth.md.

Layout written::

    <out>/<table>/part-00000.parquet      (events: part-00000, part-00001, ...)
    <truth>/personas.parquet              subject_id, subject_type, persona
    <truth>/identity_links.parquet        anonymous_id, customer_id, device_type
                                          (customer devices that appear in events)
    <truth>/dirty_rows.parquet            table, source_file, source_row,
                                          expected_outcome, expected_reason,
                                          expected_utc_timestamp
    <truth>/crm_duplicates.parquet        customer_id, original_customer_id, kind,
                                          expected (merge / candidate), moved_order_count
    <truth>/crm_near_misses.parquet       group_id, customer_id, kind
    <truth>/internal_accounts.parquet     kind (internal_account / test_order), customer_id,
                                          order_id, total_amount
    <truth>/outliers.parquet              table, event_id, order_id, product_id, customer_id,
                                          column_name, value, kind, is_derived
    <truth>/generation.json               parameters, row counts, end date, planted counts

Data shapes
-----------
``shape`` (CLI ``--shape``) writes only some tables of the same simulation, like a
source system that holds only part of the contract: ``complete`` (every table, the
default), ``orders_only``, ``order_items_no_events``, ``events_only``, ``crm_only``
(see :data:`SHAPES`). Two restrictions combine with any shape: ``country`` puts every
subject in one country, and ``lapsed_days`` appends that many quiet days to the window in
which only a few still-active customers leave rows (an old log whose customers have
mostly lapsed). A shape's tables hold the rows (and, without a restriction, the bytes) of
the complete run with the same arguments, and ``complete`` writes what it wrote before shapes
existed.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

GENERATOR_VERSION = 1

# --------------------------------------------------------------------------- #
# Vocabularies
# --------------------------------------------------------------------------- #

TABLES: tuple[str, ...] = (
    "events",
    "orders",
    "order_items",
    "customers",
    "products",
    "consents",
    "deletion_requests",
    "survey_responses",
    "experiment_assignments",
)

EVENT_TYPES: tuple[str, ...] = (
    "page_view",
    "product_view",
    "add_to_cart",
    "remove_from_cart",
    "checkout_started",
    "purchase",
    "search",
    "email_open",
    "email_click",
    "video_play",
    "form_submit",
    "add_to_wishlist",
)
(
    ET_PAGE_VIEW,
    ET_PRODUCT_VIEW,
    ET_ADD_TO_CART,
    ET_REMOVE_FROM_CART,
    ET_CHECKOUT,
    ET_PURCHASE,
    ET_SEARCH,
    ET_EMAIL_OPEN,
    ET_EMAIL_CLICK,
    ET_VIDEO,
    ET_FORM,
    ET_WISHLIST,
) = range(len(EVENT_TYPES))

DEVICE_TYPES: tuple[str, ...] = ("desktop", "mobile", "tablet")
DESKTOP, MOBILE, TABLET = range(3)

CHANNELS: tuple[str, ...] = (
    "organic_search",
    "paid_search",
    "email",
    "social",
    "direct",
    "referral",
    "affiliate",
)
CH_ORGANIC, CH_PAID, CH_EMAIL, CH_SOCIAL, CH_DIRECT, CH_REFERRAL, CH_AFFILIATE = range(7)
#: channels a visit can arrive through on its own (email visits come from clicks)
SESSION_CHANNELS = np.array([CH_ORGANIC, CH_PAID, CH_SOCIAL, CH_DIRECT, CH_REFERRAL, CH_AFFILIATE])

UTM_SOURCES: tuple[str, ...] = (
    "google",
    "bing",
    "facebook",
    "instagram",
    "tiktok",
    "pinterest",
    "couponhub",
    "cashbackly",
    "dealfinder",
    "newsletter",
)
UTM_MEDIUMS: tuple[str, ...] = ("cpc", "paid_social", "affiliate", "email")

CATEGORIES: tuple[str, ...] = (
    "electronics",
    "fashion",
    "home",
    "beauty",
    "sports",
    "books",
    "toys",
    "grocery",
)
N_CAT = len(CATEGORIES)

SUBCATEGORIES: dict[str, tuple[str, ...]] = {
    "electronics": ("phones", "laptops", "audio", "tv", "accessories"),
    "fashion": ("women", "men", "shoes", "accessories", "kids"),
    "home": ("kitchen", "furniture", "decor", "bedding", "garden"),
    "beauty": ("skincare", "makeup", "haircare", "fragrance"),
    "sports": ("running", "fitness", "outdoor", "cycling"),
    "books": ("fiction", "non_fiction", "cookbooks", "children"),
    "toys": ("building", "dolls", "board_games", "outdoor_toys"),
    "grocery": ("snacks", "beverages", "pantry", "organic"),
}
BRANDS: dict[str, tuple[str, ...]] = {
    "electronics": ("Voltra", "Nexon", "Pixelon", "Auralis", "Kyro", "Zentek"),
    "fashion": ("Maison Lune", "Urban Thread", "Norda", "Velvetine", "Kito", "Sable & Co"),
    "home": ("Hearthly", "Nordhaus", "Casa Viva", "Loftline", "Oakmere"),
    "beauty": ("Lumiere", "Glowhaus", "Pura", "Solene", "Dermaly"),
    "sports": ("Stride", "Peakform", "Trailborn", "Aerofit", "Corepulse"),
    "books": ("Penrose Press", "Inkwell", "Northstar Books", "Papertrail"),
    "toys": ("Tumble", "Brickly", "Wonderkin", "Playfox"),
    "grocery": ("Green Basket", "Harvest & Co", "Daily Pantry", "Terra Fresh"),
}
#: products per category and log-normal price (median, sigma)
CATEGORY_SIZE = (60, 80, 60, 50, 45, 50, 35, 40)
CATEGORY_PRICE = (
    (180.0, 0.8),
    (45.0, 0.6),
    (60.0, 0.8),
    (25.0, 0.5),
    (55.0, 0.7),
    (16.0, 0.4),
    (30.0, 0.6),
    (9.0, 0.6),
)
SEARCH_TERMS: dict[str, tuple[str, ...]] = {
    "electronics": ("headphones", "usb+c+cable", "laptop", "4k+tv"),
    "fashion": ("sneakers", "summer+dress", "denim+jacket", "sale"),
    "home": ("coffee+maker", "bed+linen", "desk+lamp", "plant+pot"),
    "beauty": ("vitamin+c+serum", "sunscreen", "lipstick", "shampoo"),
    "sports": ("running+shoes", "yoga+mat", "bike+helmet", "dumbbells"),
    "books": ("bestsellers", "cookbook", "fantasy", "biography"),
    "toys": ("lego", "puzzle", "board+game", "plush"),
    "grocery": ("coffee+beans", "protein+bar", "olive+oil", "tea"),
}
BASE_URL = "https://shop.example.com"

COUNTRIES: tuple[str, ...] = ("US", "GB", "DE", "FR", "CA", "NL", "ES", "IT", "SE", "AU")
COUNTRY_WEIGHTS = np.array([0.42, 0.12, 0.11, 0.08, 0.08, 0.04, 0.05, 0.04, 0.02, 0.04])
CITIES: dict[str, tuple[str, ...]] = {
    "US": ("New York", "Los Angeles", "Chicago", "Houston", "Seattle", "Austin", "Miami", "Denver"),
    "GB": ("London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Bristol"),
    "DE": ("Berlin", "Hamburg", "Munich", "Cologne", "Frankfurt"),
    "FR": ("Paris", "Lyon", "Marseille", "Toulouse", "Lille"),
    "CA": ("Toronto", "Vancouver", "Montreal", "Calgary"),
    "NL": ("Amsterdam", "Rotterdam", "Utrecht"),
    "ES": ("Madrid", "Barcelona", "Valencia", "Seville"),
    "IT": ("Rome", "Milan", "Naples", "Turin"),
    "SE": ("Stockholm", "Gothenburg"),
    "AU": ("Sydney", "Melbourne", "Brisbane"),
}
DIAL_CODES = ("+1 ", "+44 ", "+49 ", "+33 ", "+1 ", "+31 ", "+34 ", "+39 ", "+46 ", "+61 ")
#: postal-code style per country: 5 digits, 4 digits, or alphanumeric 'A9A 9A9'
POSTAL_STYLE = np.array([5, 0, 5, 5, 0, 4, 5, 5, 5, 4])

REGIONS: tuple[str, ...] = ("EU", "UK", "US", "CA", "AU")
REGION_OF_COUNTRY = np.array([2, 1, 0, 0, 3, 0, 0, 0, 0, 4])
PURPOSES: tuple[str, ...] = ("analytics", "personalization", "marketing")
#: P(granted) per region x purpose; EU/UK are explicit opt-in, US mostly granted
CONSENT_GRANT = np.array(
    [
        [0.78, 0.62, 0.48],  # EU
        [0.80, 0.66, 0.52],  # UK
        [0.98, 0.96, 0.88],  # US
        [0.94, 0.90, 0.75],  # CA
        [0.95, 0.92, 0.80],  # AU
    ]
)
#: P(later revocation | granted) per purpose
CONSENT_REVOKE = np.array([0.035, 0.03, 0.10])

FIRST_NAMES = (
    "anna",
    "ben",
    "carla",
    "david",
    "emma",
    "felix",
    "grace",
    "henry",
    "isla",
    "jack",
    "kate",
    "liam",
    "mia",
    "noah",
    "olivia",
    "paul",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "umar",
    "vera",
    "will",
    "xena",
    "yusuf",
    "zoe",
    "lena",
    "max",
    "sofia",
    "leo",
    "chloe",
    "lucas",
    "nina",
    "oscar",
    "elena",
    "marco",
    "julia",
    "tom",
    "ava",
    "finn",
)
LAST_NAMES = (
    "smith",
    "jones",
    "mueller",
    "schmidt",
    "martin",
    "bernard",
    "rossi",
    "garcia",
    "brown",
    "taylor",
    "wilson",
    "johnson",
    "lee",
    "walker",
    "white",
    "martinez",
    "dubois",
    "fischer",
    "weber",
    "meyer",
    "novak",
    "jansen",
    "de_vries",
    "larsson",
    "nilsson",
    "costa",
    "silva",
    "moreau",
    "lopez",
    "clark",
)
EMAIL_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "icloud.com",
    "example.org",
    "web.de",
    "proton.me",
)
EMAIL_DOMAIN_WEIGHTS = np.array([0.38, 0.12, 0.18, 0.12, 0.08, 0.07, 0.05])
GENDERS = ("female", "male", "non_binary")
LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")
ORDER_STATUSES = ("completed", "cancelled", "refunded")
CURRENCIES = ("USD", "EUR")

INTERESTS = (
    "tech",
    "fashion",
    "outdoors",
    "cooking",
    "beauty",
    "gaming",
    "reading",
    "fitness",
    "home_decor",
    "parenting",
)
VALUES = ("sustainability", "price", "quality", "convenience")

#: (experiment_id, start as fraction of the window, anonymous visitors eligible)
EXPERIMENTS: tuple[tuple[str, float, bool], ...] = (
    ("exp_checkout_redesign", 0.15, False),
    ("exp_free_shipping_banner", 0.45, False),
    ("exp_reco_carousel", 0.60, True),
)
VARIANTS = ("control", "treatment", "one_page", "express")
#: experiments planted on a stream of their own (so the draws above stay put): a split that is
#: deliberately broken (a redirect bug sends BROKEN_SPLIT_TREATMENT_SHARE of units to the treatment
#: against a designed 50/50), from this fraction of the window, customers only
BROKEN_SPLIT_EXPERIMENT = "exp_price_anchor"
BROKEN_SPLIT_START = 0.30
BROKEN_SPLIT_TREATMENT_SHARE = 0.60
EXPERIMENT_IDS: tuple[str, ...] = (*(x[0] for x in EXPERIMENTS), BROKEN_SPLIT_EXPERIMENT)
E_CHECKOUT, E_FREE_SHIPPING, E_RECO, E_BROKEN = range(len(EXPERIMENT_IDS))
V_CONTROL, V_TREATMENT, V_ONE_PAGE, V_EXPRESS = range(len(VARIANTS))
#: days after the first assignment in which an order counts (the dbt var experiment_attribution_days)
EXPERIMENT_ATTRIBUTION_DAYS = 14
#: planted effects: (experiment, variant) -> probability, by persona (CUSTOMER_PERSONAS order) and
#: buyer status before the assignment (0 prospect, 1 returning buyer), that a unit places one extra
#: completed order within the attribution window. Free shipping moves prospects (bargain hunters
#: most), not returning buyers; the one-page checkout moves everyone a little; the express checkout,
#: the recommendation carousel and the price anchor move nobody (null arms).
#: Rows: bargain_hunter, loyal_high_spender, window_shopper, lapsed, new_customer, late_night_mobile,
#: content_engager.
EXPERIMENT_EFFECTS: dict[tuple[int, int], np.ndarray] = {
    (E_FREE_SHIPPING, V_TREATMENT): np.array(
        [[0.16, 0.0], [0.08, 0.0], [0.08, 0.0], [0.08, 0.0], [0.08, 0.0], [0.08, 0.0], [0.08, 0.0]]
    ),
    (E_CHECKOUT, V_ONE_PAGE): np.full((7, 2), 0.05),
}
#: share of an experiment's customer units also assigned, on a linked anonymous device id, to
#: another variant (a cookie assigned before the login): the readouts exclude and count them
MULTIPLE_EXPOSURE_SHARE = {E_CHECKOUT: 0.004, E_FREE_SHIPPING: 0.004, E_RECO: 0.02, E_BROKEN: 0.004}

# Dirty-data vocabularies -------------------------------------------------- #
REASON_MISSING_PK = "missing_primary_key"
REASON_BAD_TS = "unparseable_timestamp"
REASON_FUTURE_TS = "future_timestamp"
REASON_NEG_AMOUNT = "negative_amount"
REASON_NEG_QTY = "negative_quantity"
REASON_NEG_PRICE = "negative_price"
REASON_BAD_STATUS = "invalid_status"
REASON_DUPLICATE = "duplicate_key"
REASON_UNKNOWN_EVENT = "unknown_event_type"
REASON_TS_OFFSET = "timestamp_with_offset"
ACCEPTED_REASONS = frozenset({REASON_UNKNOWN_EVENT, REASON_TS_OFFSET})

UNPARSEABLE_TIMESTAMPS = (
    "not-a-date",
    "2026-13-45T25:61:00",
    "31/02/2026",
    "2026-02-30 25:00",
    "N/A",
    "yesterday",
    "0000-00-00T00:00:00",
)
INVALID_STATUSES = ("shipped", "pending", "??", "processing", "unknown")
UNKNOWN_EVENT_TYPES = ("scroll_ping", "chat_open", "heartbeat", "app_open", "push_received")
# Planted identity cases and outliers ------------------------------------- #
#: A second CRM record of one human (a guest checkout next to a registration): the kinds of
#: variation, spread evenly over the duplicates. Each kind isolates one matching rule: the
#: e-mail kinds give the duplicate no phone, ``phone_format`` gives it another e-mail.
DUPLICATE_KINDS: tuple[str, ...] = (
    "email_case",  # the same address in other letter case, with surrounding spaces
    "gmail_dots",  # Gmail: dots added to / removed from the local part
    "plus_tag",  # a '+tag' on a provider that delivers it to the base address
    "googlemail",  # gmail.com written as googlemail.com
    "phone_format",  # another (work) address, the same phone in another format
    "weak_evidence",  # another address, no phone: only postal code, birth year, gender, city
)
#: what the identity graph should do with each kind: link automatically, or list for review
DUPLICATE_EXPECTED: dict[str, str] = {
    **{kind: "merge" for kind in DUPLICATE_KINDS if kind != "weak_evidence"},
    "weak_evidence": "candidate",
}
#: a duplicate's customer id: this prefix and the original's digits (sorts after the 'C' id)
DUPLICATE_PREFIX = "G"
#: each order of an original moves to its duplicate with this probability
DUPLICATE_ORDER_SHARE = 0.5
#: providers that deliver 'local+tag@' to 'local@' (Gmail also ignores dots): the identity
#: rules of the project's e-mail normalisation, restricted to the generator's domains
GMAIL_DOMAIN = "gmail.com"
PLUS_TAG_DOMAINS: tuple[str, ...] = ("gmail.com", "outlook.com", "icloud.com", "proton.me")
PLUS_TAGS: tuple[str, ...] = ("shop", "orders", "newsletter", "deals", "2026")
#: the shop's own domain: staff accounts, whose test orders are not real sales
INTERNAL_EMAIL_DOMAIN = "demoshop.internal"
#: work addresses (phone_format duplicates) and other personal ones (weak_evidence duplicates):
#: domains without a normalisation rule
WORK_DOMAINS: tuple[str, ...] = (
    "kestrel-consulting.com",
    "northwind-traders.com",
    "bluefin-logistics.com",
    "harbor-analytics.com",
    "orchard-labs.io",
    "meridian-care.org",
)
OTHER_PERSONAL_DOMAINS: tuple[str, ...] = ("yahoo.com", "web.de", "aol.com")
#: every domain code a customer's e-mail can carry (EMAIL_DOMAINS first: their codes are drawn)
EMAIL_DOMAIN_VOCAB: tuple[str, ...] = EMAIL_DOMAINS + (INTERNAL_EMAIL_DOMAIN,)
INTERNAL_DOMAIN_CODE = EMAIL_DOMAIN_VOCAB.index(INTERNAL_EMAIL_DOMAIN)
GMAIL_CODE = EMAIL_DOMAINS.index(GMAIL_DOMAIN)
PLUS_TAG_CODES = np.array([EMAIL_DOMAINS.index(d) for d in PLUS_TAG_DOMAINS])

#: Different humans that look alike: edits of existing customers that must never merge.
NEAR_MISS_KINDS: tuple[str, ...] = (
    "family_same_address",  # same last name, city, postal code, country; own e-mails and phones
    "office_switchboard",  # one company phone (more records than the per-key cap), many formats
    "role_address",  # one role address such as info@company.com
    "reserved_domain",  # one address at a reserved test domain (example.com/.net/.org)
)
#: members per group (inclusive bounds)
NEAR_MISS_SIZES: dict[str, tuple[int, int]] = {
    "family_same_address": (2, 3),
    "office_switchboard": (6, 10),
    "role_address": (2, 4),
    "reserved_domain": (2, 3),
}
#: at most this share of a chunk's customers is edited into near-miss groups
NEAR_MISS_MAX_SHARE = 0.15
ROLE_LOCAL_PARTS: tuple[str, ...] = (
    "info",
    "sales",
    "support",
    "office",
    "contact",
    "hello",
    "billing",
    "team",
)
COMPANY_NAMES: tuple[str, ...] = (
    "brightlane",
    "copperfield-tools",
    "greenhollow",
    "ironbridge-media",
    "lakeside-dental",
    "maplewood-studio",
    "silverline-travel",
    "tidewater-legal",
)
RESERVED_ADDRESSES: tuple[str, ...] = (
    "customer@example.com",
    "shopper@example.net",
    "me@example.org",
)
#: birth-year offsets of a family member from the first member (partners, siblings, children)
FAMILY_BIRTH_OFFSETS = np.array([-30, -28, -26, -24, -5, -3, -2, 2, 3, 5, 24, 26, 28, 30])
#: test orders per internal account, and their absurd totals (cents)
TEST_ORDERS_PER_ACCOUNT = 2
TEST_ORDER_PREFIX = "TEST-"
TEST_ORDER_TOTALS_CENTS = np.array([100_000_000, 99_999_999, 12_345_678])

#: Planted outliers: valid values (staging accepts them) that are data errors or extremes.
OUTLIER_KINDS: tuple[str, ...] = (
    "extreme_order_total",  # orders.total_amount (and its purchase event's revenue) far too high;
    #                         the order's lines still sum to the real amount
    "extreme_quantity",  # one order line's quantity (the order total and revenue follow)
    "extreme_unit_price",  # one order line's unit price (the order total and revenue follow)
    "event_revenue_in_cents",  # a purchase event's revenue sent in cents (x100); the order is right
    "extreme_engaged_seconds",  # engaged_seconds of a week (a tab left open)
)
OUTLIER_ORDER_TOTALS_CENTS = np.array([100_000_000, 99_999_999, 25_000_000])
OUTLIER_QUANTITIES = np.array([999, 2_500, 10_000])
OUTLIER_UNIT_PRICES_CENTS = np.array([9_999_900, 25_000_000, 100_000_000])
OUTLIER_ENGAGED_TENTHS = 6_048_000  # 604,800 s = one week

#: Phones: a bijection of the customer number (so unrelated customers never share one),
#: 10 national digits from 2,000,000,000 (no leading 0) below 9,000,013,300; company
#: switchboards from OFFICE_PHONE_BASE, above every customer's
PHONE_PRIME = 10_000_019
PHONE_MULTIPLIER = 6_700_417
PHONE_SHIFT = 3_141_592
OFFICE_PHONE_BASE = 9_100_000_000
OFFICE_PHONE_SPAN = 899_999_999  # switchboard g: BASE + (g * 7,919 + 52,817) mod SPAN (a bijection)
#: other ways to write a country's national 10 digits ('D'), for duplicates and switchboards;
#: every one gives the same E.164 number (trunk '0' and '(0)' dropped, '00' = '+')
_NANP_FORMATS = ("(DDD) DDD-DDDD", "DDD.DDD.DDDD", "001 DDD DDD DDDD", "+1-DDD-DDD-DDDD")
PHONE_FORMATS: dict[str, tuple[str, ...]] = {
    "US": _NANP_FORMATS,
    "CA": _NANP_FORMATS,
    "GB": ("+44 (0)DDDD DDDDDD", "0DDDD DDDDDD", "0044 DDDD DDDDDD", "+44-DDDD-DDDDDD"),
    **{
        country: (
            "0DDD DDDDDDD",
            f"00{code} DDD DDD DDDD",
            f"+{code} DDD/DDDDDDD",
            f"+{code} (DDD) DDD DDDD",
        )
        for country, code in (
            ("DE", 49),
            ("FR", 33),
            ("NL", 31),
            ("ES", 34),
            ("IT", 39),
            ("SE", 46),
            ("AU", 61),
        )
    },
}

#: Tables each data shape writes (the others are left out: no folder at all). Every shape is
#: the same simulation as ``complete``, only fewer tables are written.
SHAPES: dict[str, tuple[str, ...]] = {
    "complete": TABLES,
    # a shop's transaction log: no web events, no line items, no CRM (no signup dates)
    "orders_only": ("orders",),
    # a shop system: orders with their line items and the catalogue; no events, no CRM
    "order_items_no_events": ("orders", "order_items", "products"),
    # a web/app tracker alone: no orders, no CRM
    "events_only": ("events",),
    # a CRM export: customers and their customer-level consents; no events, no orders
    "crm_only": ("customers", "consents"),
}
#: ``lapsed_days``: share of customers that stay active in the quiet days (at least one)
LAPSED_ACTIVE_SHARE = 0.03
#: ``lapsed_days``: per table, the timestamp and the subject columns that decide whether a row
#: in the quiet days belongs to a still-active customer (order items follow their orders)
LAPSED_COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "events": ("occurred_at", ("user_id", "anonymous_id")),
    "orders": ("ordered_at", ("customer_id",)),
    "customers": ("signup_at", ("customer_id",)),
    "consents": ("recorded_at", ("subject_id",)),
    "deletion_requests": ("requested_at", ("subject_id",)),
    "survey_responses": ("responded_at", ("customer_id",)),
    "experiment_assignments": ("assigned_at", ("subject_id",)),
}

#: UTC offsets (minutes) used for ``timestamp_with_offset``
TZ_OFFSETS_MIN = np.array([60, 120, -300, -420, 330, 540, -240, 600])


@dataclass(frozen=True)
class DirtySpec:
    """Which defects can be injected into a table and where."""

    table: str
    primary_key: str
    timestamp: str | None
    kinds: tuple[str, ...]


DIRTY_SPECS: dict[str, DirtySpec] = {
    "events": DirtySpec(
        "events",
        "event_id",
        "occurred_at",
        (
            REASON_MISSING_PK,
            REASON_BAD_TS,
            REASON_FUTURE_TS,
            REASON_DUPLICATE,
            REASON_UNKNOWN_EVENT,
            REASON_TS_OFFSET,
        ),
    ),
    "orders": DirtySpec(
        "orders",
        "order_id",
        "ordered_at",
        (
            REASON_MISSING_PK,
            REASON_BAD_TS,
            REASON_FUTURE_TS,
            REASON_NEG_AMOUNT,
            REASON_BAD_STATUS,
            REASON_DUPLICATE,
        ),
    ),
    "order_items": DirtySpec(
        "order_items",
        "order_id",
        None,
        (REASON_MISSING_PK, REASON_NEG_QTY, REASON_NEG_PRICE, REASON_DUPLICATE),
    ),
    "customers": DirtySpec(
        "customers",
        "customer_id",
        "signup_at",
        (REASON_MISSING_PK, REASON_BAD_TS, REASON_FUTURE_TS, REASON_DUPLICATE),
    ),
    "consents": DirtySpec(
        "consents",
        "subject_id",
        "recorded_at",
        (REASON_MISSING_PK, REASON_BAD_TS, REASON_FUTURE_TS, REASON_DUPLICATE),
    ),
}

# --------------------------------------------------------------------------- #
# Personas
# --------------------------------------------------------------------------- #

_H_DAY = (
    0.2,
    0.1,
    0.05,
    0.05,
    0.05,
    0.1,
    0.3,
    0.8,
    1.2,
    1.4,
    1.5,
    1.6,
    1.9,
    1.8,
    1.5,
    1.4,
    1.4,
    1.6,
    1.9,
    2.2,
    2.3,
    2.0,
    1.2,
    0.5,
)
_H_COMMUTE = (
    0.1,
    0.05,
    0.03,
    0.03,
    0.05,
    0.2,
    0.8,
    1.8,
    2.0,
    1.5,
    1.2,
    1.4,
    2.0,
    1.6,
    1.2,
    1.1,
    1.2,
    1.4,
    1.8,
    2.2,
    2.4,
    1.8,
    0.8,
    0.3,
)
_H_NIGHT = (
    3.0,
    2.6,
    1.8,
    0.8,
    0.2,
    0.05,
    0.05,
    0.05,
    0.1,
    0.1,
    0.15,
    0.2,
    0.3,
    0.3,
    0.2,
    0.2,
    0.2,
    0.3,
    0.4,
    0.5,
    0.7,
    1.2,
    2.6,
    3.2,
)
_H_EVENING = (
    0.3,
    0.15,
    0.05,
    0.03,
    0.03,
    0.05,
    0.2,
    0.5,
    0.8,
    0.9,
    1.0,
    1.1,
    1.3,
    1.1,
    1.0,
    1.0,
    1.1,
    1.4,
    1.9,
    2.4,
    2.7,
    2.6,
    1.8,
    0.8,
)


@dataclass(frozen=True)
class PersonaProfile:
    """Behavioural parameters of one planted persona (all per visit unless noted)."""

    name: str
    share: float  # share of customers (anonymous_browser: unused)
    sessions_per_week: float  # anonymous_browser: mean number of extra visits
    hours: tuple[float, ...]  # 24 weights for the hour of day (UTC)
    device_mix: tuple[float, float, float]  # desktop, mobile, tablet (main device)
    p_two_devices: float
    p_second_device: float  # share of visits on the second device
    channel_mix: tuple[float, ...]  # organic, paid_search, social, direct, referral, affiliate
    sale_affinity: float  # share of visits deliberately placed on sale days
    category_weights: tuple[float, ...]
    price_beta: tuple[float, float]  # preferred price quantile within a category
    mu_extra_pages: float
    mu_products: float
    mu_search: float
    mu_video: float
    mu_wishlist: float
    p_form: float
    p_cart: float
    mu_cart_items: float
    p_remove: float
    p_checkout: float
    p_purchase: float
    mu_extra_qty: float
    status_mix: tuple[float, float, float]  # completed, cancelled, refunded
    scroll_beta: tuple[float, float]
    engaged_mean: float
    video_mean: float
    p_email_open: float  # per e-mail sent
    p_email_click: float  # per opened e-mail
    marketing_tilt: float  # added to P(marketing consent)
    landing_mix: tuple[float, float, float, float]  # home, category page, blog, product page
    page_mix: tuple[
        float, float, float, float, float
    ]  # home, category, other category, blog, account
    birth_year: tuple[float, float]
    loyalty_mix: tuple[float, float, float, float, float]  # none, bronze, silver, gold, platinum
    acquisition_mix: tuple[float, ...]  # over CHANNELS
    interests: tuple[float, ...]
    values: tuple[float, ...]


PERSONA_PROFILES: tuple[PersonaProfile, ...] = (
    PersonaProfile(
        name="bargain_hunter",
        share=0.20,
        sessions_per_week=0.4,
        hours=_H_DAY,
        device_mix=(0.45, 0.45, 0.10),
        p_two_devices=0.25,
        p_second_device=0.35,
        channel_mix=(0.10, 0.25, 0.10, 0.10, 0.05, 0.40),
        sale_affinity=0.65,
        category_weights=(1.0, 3.0, 2.0, 2.0, 1.0, 0.5, 2.0, 3.0),
        price_beta=(1.2, 4.0),
        mu_extra_pages=1.5,
        mu_products=3.0,
        mu_search=0.8,
        mu_video=0.1,
        mu_wishlist=0.2,
        p_form=0.02,
        p_cart=0.45,
        mu_cart_items=1.8,
        p_remove=0.25,
        p_checkout=0.55,
        p_purchase=0.75,
        mu_extra_qty=0.8,
        status_mix=(0.85, 0.05, 0.10),
        scroll_beta=(2.0, 2.0),
        engaged_mean=25.0,
        video_mean=40.0,
        p_email_open=0.35,
        p_email_click=0.40,
        marketing_tilt=0.05,
        landing_mix=(0.25, 0.35, 0.05, 0.35),
        page_mix=(0.15, 0.40, 0.20, 0.10, 0.15),
        birth_year=(1985.0, 10.0),
        loyalty_mix=(0.30, 0.45, 0.20, 0.05, 0.0),
        acquisition_mix=(0.10, 0.25, 0.15, 0.10, 0.05, 0.05, 0.30),
        interests=(0.5, 2.0, 0.5, 2.0, 1.0, 0.5, 0.5, 0.5, 1.0, 2.0),
        values=(0.5, 6.0, 1.0, 1.5),
    ),
    PersonaProfile(
        name="loyal_high_spender",
        share=0.12,
        sessions_per_week=0.75,
        hours=_H_COMMUTE,
        device_mix=(0.55, 0.35, 0.10),
        p_two_devices=0.40,
        p_second_device=0.35,
        channel_mix=(0.20, 0.05, 0.05, 0.55, 0.10, 0.05),
        sale_affinity=0.0,
        category_weights=(4.0, 2.0, 3.0, 1.0, 2.0, 1.0, 0.5, 0.5),
        price_beta=(4.0, 1.3),
        mu_extra_pages=1.2,
        mu_products=2.5,
        mu_search=0.5,
        mu_video=0.1,
        mu_wishlist=0.1,
        p_form=0.02,
        p_cart=0.55,
        mu_cart_items=2.5,
        p_remove=0.10,
        p_checkout=0.80,
        p_purchase=0.90,
        mu_extra_qty=0.25,
        status_mix=(0.95, 0.02, 0.03),
        scroll_beta=(2.0, 2.0),
        engaged_mean=30.0,
        video_mean=45.0,
        p_email_open=0.45,
        p_email_click=0.20,
        marketing_tilt=0.05,
        landing_mix=(0.45, 0.25, 0.05, 0.25),
        page_mix=(0.15, 0.35, 0.15, 0.10, 0.25),
        birth_year=(1975.0, 10.0),
        loyalty_mix=(0.05, 0.05, 0.20, 0.40, 0.30),
        acquisition_mix=(0.30, 0.10, 0.05, 0.10, 0.25, 0.15, 0.05),
        interests=(3.0, 1.0, 2.0, 1.0, 0.5, 0.5, 1.0, 1.0, 2.0, 0.5),
        values=(1.0, 0.3, 6.0, 2.0),
    ),
    PersonaProfile(
        name="window_shopper",
        share=0.18,
        sessions_per_week=0.45,
        hours=_H_DAY,
        device_mix=(0.30, 0.60, 0.10),
        p_two_devices=0.25,
        p_second_device=0.35,
        channel_mix=(0.35, 0.10, 0.35, 0.10, 0.08, 0.02),
        sale_affinity=0.0,
        category_weights=(1.0, 4.0, 3.0, 3.0, 1.0, 0.5, 1.0, 0.3),
        price_beta=(2.0, 2.0),
        mu_extra_pages=2.5,
        mu_products=5.0,
        mu_search=0.8,
        mu_video=0.3,
        mu_wishlist=0.8,
        p_form=0.03,
        p_cart=0.30,
        mu_cart_items=1.6,
        p_remove=0.40,
        p_checkout=0.15,
        p_purchase=0.40,
        mu_extra_qty=0.1,
        status_mix=(0.90, 0.05, 0.05),
        scroll_beta=(3.0, 2.0),
        engaged_mean=40.0,
        video_mean=60.0,
        p_email_open=0.18,
        p_email_click=0.15,
        marketing_tilt=0.0,
        landing_mix=(0.30, 0.35, 0.10, 0.25),
        page_mix=(0.15, 0.35, 0.25, 0.15, 0.10),
        birth_year=(1992.0, 8.0),
        loyalty_mix=(0.50, 0.40, 0.10, 0.0, 0.0),
        acquisition_mix=(0.35, 0.10, 0.05, 0.30, 0.10, 0.08, 0.02),
        interests=(0.5, 3.0, 0.5, 0.5, 2.0, 0.5, 0.5, 0.5, 2.5, 0.5),
        values=(1.5, 1.5, 1.5, 1.5),
    ),
    PersonaProfile(
        name="lapsed",
        share=0.14,
        sessions_per_week=0.6,
        hours=_H_DAY,
        device_mix=(0.45, 0.45, 0.10),
        p_two_devices=0.15,
        p_second_device=0.35,
        channel_mix=(0.35, 0.15, 0.15, 0.20, 0.10, 0.05),
        sale_affinity=0.0,
        category_weights=(1.5, 2.0, 2.0, 1.0, 1.5, 1.0, 1.0, 1.0),
        price_beta=(2.0, 2.0),
        mu_extra_pages=1.2,
        mu_products=2.0,
        mu_search=0.4,
        mu_video=0.1,
        mu_wishlist=0.1,
        p_form=0.02,
        p_cart=0.30,
        mu_cart_items=1.5,
        p_remove=0.20,
        p_checkout=0.50,
        p_purchase=0.70,
        mu_extra_qty=0.2,
        status_mix=(0.88, 0.05, 0.07),
        scroll_beta=(2.0, 2.0),
        engaged_mean=30.0,
        video_mean=45.0,
        p_email_open=0.06,
        p_email_click=0.10,
        marketing_tilt=-0.10,
        landing_mix=(0.35, 0.30, 0.05, 0.30),
        page_mix=(0.20, 0.35, 0.15, 0.10, 0.20),
        birth_year=(1982.0, 12.0),
        loyalty_mix=(0.30, 0.40, 0.20, 0.08, 0.02),
        acquisition_mix=(0.25, 0.20, 0.10, 0.15, 0.15, 0.10, 0.05),
        interests=(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        values=(1.0, 2.0, 1.5, 1.5),
    ),
    PersonaProfile(
        name="new_customer",
        share=0.10,
        sessions_per_week=1.2,
        hours=_H_DAY,
        device_mix=(0.35, 0.55, 0.10),
        p_two_devices=0.20,
        p_second_device=0.35,
        channel_mix=(0.20, 0.30, 0.35, 0.05, 0.05, 0.05),
        sale_affinity=0.0,
        category_weights=(2.0, 2.0, 1.5, 1.5, 1.5, 1.0, 1.0, 1.0),
        price_beta=(2.0, 2.5),
        mu_extra_pages=1.8,
        mu_products=3.0,
        mu_search=0.7,
        mu_video=0.2,
        mu_wishlist=0.2,
        p_form=0.05,
        p_cart=0.40,
        mu_cart_items=1.6,
        p_remove=0.20,
        p_checkout=0.60,
        p_purchase=0.70,
        mu_extra_qty=0.2,
        status_mix=(0.90, 0.05, 0.05),
        scroll_beta=(2.5, 2.0),
        engaged_mean=35.0,
        video_mean=50.0,
        p_email_open=0.40,
        p_email_click=0.25,
        marketing_tilt=0.0,
        landing_mix=(0.30, 0.30, 0.10, 0.30),
        page_mix=(0.20, 0.35, 0.20, 0.10, 0.15),
        birth_year=(1994.0, 9.0),
        loyalty_mix=(0.60, 0.40, 0.0, 0.0, 0.0),
        acquisition_mix=(0.15, 0.30, 0.05, 0.35, 0.05, 0.05, 0.05),
        interests=(1.5, 1.5, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        values=(1.5, 1.5, 1.5, 1.5),
    ),
    PersonaProfile(
        name="late_night_mobile",
        share=0.14,
        sessions_per_week=0.5,
        hours=_H_NIGHT,
        device_mix=(0.04, 0.90, 0.06),
        p_two_devices=0.20,
        p_second_device=0.12,
        channel_mix=(0.10, 0.05, 0.55, 0.25, 0.03, 0.02),
        sale_affinity=0.0,
        category_weights=(1.5, 3.0, 0.5, 3.0, 0.5, 1.5, 0.5, 0.3),
        price_beta=(1.8, 2.5),
        mu_extra_pages=1.0,
        mu_products=2.5,
        mu_search=0.4,
        mu_video=0.8,
        mu_wishlist=0.2,
        p_form=0.01,
        p_cart=0.35,
        mu_cart_items=1.4,
        p_remove=0.20,
        p_checkout=0.50,
        p_purchase=0.65,
        mu_extra_qty=0.15,
        status_mix=(0.88, 0.06, 0.06),
        scroll_beta=(1.5, 3.0),
        engaged_mean=15.0,
        video_mean=35.0,
        p_email_open=0.12,
        p_email_click=0.15,
        marketing_tilt=0.0,
        landing_mix=(0.30, 0.25, 0.05, 0.40),
        page_mix=(0.20, 0.40, 0.20, 0.05, 0.15),
        birth_year=(1999.0, 5.0),
        loyalty_mix=(0.40, 0.40, 0.15, 0.05, 0.0),
        acquisition_mix=(0.10, 0.05, 0.05, 0.55, 0.20, 0.03, 0.02),
        interests=(1.0, 2.5, 0.3, 0.5, 2.5, 3.0, 0.5, 0.5, 0.3, 0.3),
        values=(1.0, 1.5, 1.0, 4.0),
    ),
    PersonaProfile(
        name="content_engager",
        share=0.12,
        sessions_per_week=0.42,
        hours=_H_EVENING,
        device_mix=(0.40, 0.40, 0.20),
        p_two_devices=0.30,
        p_second_device=0.35,
        channel_mix=(0.45, 0.03, 0.20, 0.12, 0.18, 0.02),
        sale_affinity=0.0,
        category_weights=(1.0, 0.5, 2.0, 0.5, 3.0, 4.0, 0.5, 1.5),
        price_beta=(2.0, 2.0),
        mu_extra_pages=3.0,
        mu_products=1.0,
        mu_search=0.6,
        mu_video=1.5,
        mu_wishlist=0.1,
        p_form=0.08,
        p_cart=0.08,
        mu_cart_items=1.2,
        p_remove=0.20,
        p_checkout=0.50,
        p_purchase=0.70,
        mu_extra_qty=0.1,
        status_mix=(0.92, 0.04, 0.04),
        scroll_beta=(5.0, 1.5),
        engaged_mean=90.0,
        video_mean=150.0,
        p_email_open=0.30,
        p_email_click=0.25,
        marketing_tilt=0.0,
        landing_mix=(0.15, 0.15, 0.60, 0.10),
        page_mix=(0.10, 0.15, 0.10, 0.55, 0.10),
        birth_year=(1980.0, 12.0),
        loyalty_mix=(0.40, 0.35, 0.20, 0.05, 0.0),
        acquisition_mix=(0.45, 0.03, 0.10, 0.15, 0.07, 0.18, 0.02),
        interests=(0.5, 0.3, 2.0, 2.5, 0.3, 0.5, 3.0, 2.0, 1.0, 0.5),
        values=(4.0, 0.5, 2.0, 1.0),
    ),
    PersonaProfile(
        name="anonymous_browser",
        share=0.0,
        sessions_per_week=1.0,
        hours=_H_DAY,
        device_mix=(0.30, 0.62, 0.08),
        p_two_devices=0.0,
        p_second_device=0.0,
        channel_mix=(0.40, 0.20, 0.20, 0.10, 0.07, 0.03),
        sale_affinity=0.0,
        category_weights=(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0),
        price_beta=(1.5, 2.5),
        mu_extra_pages=0.8,
        mu_products=1.5,
        mu_search=0.3,
        mu_video=0.1,
        mu_wishlist=0.05,
        p_form=0.02,
        p_cart=0.20,
        mu_cart_items=1.3,
        p_remove=0.30,
        p_checkout=0.45,
        p_purchase=0.60,
        mu_extra_qty=0.1,
        status_mix=(0.90, 0.05, 0.05),
        scroll_beta=(1.5, 2.5),
        engaged_mean=20.0,
        video_mean=30.0,
        p_email_open=0.0,
        p_email_click=0.0,
        marketing_tilt=0.0,
        landing_mix=(0.40, 0.25, 0.10, 0.25),
        page_mix=(0.25, 0.35, 0.20, 0.10, 0.10),
        birth_year=(1988.0, 12.0),
        loyalty_mix=(1.0, 0.0, 0.0, 0.0, 0.0),
        acquisition_mix=(1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        interests=(1.0,) * 10,
        values=(1.0,) * 4,
    ),
)
PERSONAS: tuple[str, ...] = tuple(p.name for p in PERSONA_PROFILES)
CUSTOMER_PERSONAS: tuple[str, ...] = PERSONAS[:-1]
P_BARGAIN, P_LOYAL, P_WINDOW, P_LAPSED, P_NEW, P_LATE, P_CONTENT, P_ANON = range(len(PERSONAS))
PERSONA_SHARES = np.array([p.share for p in PERSONA_PROFILES[:-1]])
PERSONA_SHARES = PERSONA_SHARES / PERSONA_SHARES.sum()


class _PersonaArrays:
    """Persona parameters as numpy arrays indexed by persona code."""

    def __init__(self, profiles: Sequence[PersonaProfile]) -> None:
        for name in PersonaProfile.__dataclass_fields__:
            if name == "name":
                continue
            arr = np.array([getattr(p, name) for p in profiles], dtype=np.float64)
            if arr.ndim == 2 and name not in ("price_beta", "scroll_beta", "birth_year"):
                arr = arr / arr.sum(axis=1, keepdims=True).clip(min=1e-12)
            setattr(self, name, arr)


PP = _PersonaArrays(PERSONA_PROFILES)

DAY = 86_400
BIG_TS = np.int64(2**62)


@dataclass(frozen=True)
class DriftEffects:
    """What the drift option (GeneratorConfig.drift_from) changes in every visit from that day
    on, for every persona: a share of the regular visits moves to the small hours (00-03 UTC,
    inside the night daypart), and each web visit views extra products (Poisson mean). The
    customer_features the clustering uses that these move are listed in ``shifted_features``
    (the truth tests compare feature_drift against); every other model feature is unshifted."""

    night_share: float = 0.8
    extra_products: float = 6.0
    shifted_features: tuple[str, ...] = ("night_session_share", "products_per_session")


DRIFT = DriftEffects()

# --------------------------------------------------------------------------- #
# Configuration and results
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class GeneratorConfig:
    """All knobs of one generator run (the CLI maps 1:1 onto these)."""

    customers: int = 10_000
    days: int = 180
    seed: int = 7
    out: Path = Path("data/raw")
    truth_out: Path | None = None
    end_date: date = date(2026, 6, 30)
    dirty_rate: float = 0.0
    fmt: str = "parquet"
    anonymous_visitors: int | None = None
    events_per_customer: float | None = None
    events_per_file: int = 2_000_000
    chunk_customers: int = 10_000
    quiet: bool = False
    #: which tables are written (a key of SHAPES)
    shape: str = "complete"
    #: every subject in this country (one of COUNTRIES); None = the usual mix
    country: str | None = None
    #: quiet days appended after the ``days`` of normal activity (the window ends on
    #: ``end_date`` and is ``days + lapsed_days`` long): in them only ~3% of the customers
    #: (LAPSED_ACTIVE_SHARE) leave rows; 0 = none
    lapsed_days: int = 0
    #: share of customers with a second CRM record of the same human (DUPLICATE_KINDS, truth in
    #: crm_duplicates.parquet); 0 = none
    crm_duplicate_rate: float = 0.03
    #: edit a few groups of existing customers into look-alikes that must not merge
    #: (NEAR_MISS_KINDS, truth in crm_near_misses.parquet)
    near_misses: bool = True
    #: give a few customers a staff address at INTERNAL_EMAIL_DOMAIN and add their test orders
    #: (truth in internal_accounts.parquet)
    internal_accounts: bool = True
    #: plant a few extreme values that staging accepts (OUTLIER_KINDS, truth in outliers.parquet)
    outliers: bool = True
    #: behaviour shifts from this day on (DRIFT: more night-time visits, more products viewed
    #: per visit; truth in drift.parquet); None = the same behaviour throughout
    drift_from: date | None = None

    @property
    def window_days(self) -> int:
        """Length of the simulated window: the active ``days`` plus the quiet ``lapsed_days``."""
        return self.days + self.lapsed_days

    @property
    def tables(self) -> tuple[str, ...]:
        """Tables this run writes (see SHAPES)."""
        return SHAPES[self.shape]

    @property
    def truth_dir(self) -> Path:
        """Ground-truth directory: ``--truth-out`` or ``<out>/../ground_truth``."""
        return (
            Path(self.truth_out)
            if self.truth_out is not None
            else Path(self.out).parent / "ground_truth"
        )

    @property
    def n_anonymous(self) -> int:
        """Number of anonymous-only visitors (default: half the customers)."""
        if self.anonymous_visitors is None:
            return int(round(self.customers * 0.5))
        return int(self.anonymous_visitors)

    def validate(self) -> None:
        """Raise ``ValueError`` for impossible settings."""
        if self.customers < 1:
            raise ValueError("customers must be >= 1")
        if self.days < 1:
            raise ValueError("days must be >= 1")
        if not 0.0 <= self.dirty_rate < 0.5:
            raise ValueError("dirty_rate must be in [0, 0.5)")
        if self.fmt not in ("parquet", "csv"):
            raise ValueError("format must be 'parquet' or 'csv'")
        if self.n_anonymous < 0:
            raise ValueError("anonymous_visitors must be >= 0")
        if self.events_per_file < 1 or self.chunk_customers < 1:
            raise ValueError("events_per_file and chunk_customers must be >= 1")
        if self.events_per_customer is not None and self.events_per_customer <= 0:
            raise ValueError("events_per_customer must be > 0")
        if self.customers > 9_999_999:
            raise ValueError("customers must be < 10 million (id width)")
        if self.shape not in SHAPES:
            raise ValueError(f"shape must be one of {', '.join(SHAPES)}")
        if self.country is not None and self.country not in COUNTRIES:
            raise ValueError(f"country must be one of {', '.join(COUNTRIES)}")
        if self.lapsed_days < 0:
            raise ValueError("lapsed_days must be >= 0")
        if not 0.0 <= self.crm_duplicate_rate < 0.5:
            raise ValueError("crm_duplicate_rate must be in [0, 0.5)")
        if self.drift_from is not None and not (
            self.end_date - timedelta(days=self.window_days - 1) < self.drift_from <= self.end_date
        ):
            raise ValueError(
                "drift_from must fall after the first day of the window and on or before end_date"
            )


@dataclass
class GenerationResult:
    """What a run produced."""

    row_counts: dict[str, int]
    dirty_counts: dict[str, int]
    files: dict[str, list[str]]
    seconds: float
    truth_dir: Path
    out_dir: Path
    session_scale: float

    @property
    def events_per_second(self) -> float:
        """Written events per wall-clock second."""
        return self.row_counts.get("events", 0) / max(self.seconds, 1e-9)


# --------------------------------------------------------------------------- #
# Small vectorised helpers
# --------------------------------------------------------------------------- #


def _rng(seed: int, *key: int) -> np.random.Generator:
    """Independent generator for a (purpose, index) key derived from ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _choice_by_group(rng: np.random.Generator, group: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Sample one category per row from ``probs[group[row]]`` (rows of probs sum to 1)."""
    n = len(group)
    if n == 0:
        return np.zeros(0, np.int64)
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(n)
    out = np.zeros(n, np.int64)
    for j in range(probs.shape[1] - 1):
        out += u >= cum[group, j]
    return out


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-parent ``counts`` return (parent index, rank within parent) per child row."""
    counts = np.asarray(counts, np.int64)
    total = int(counts.sum())
    parent = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    rank = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
    return parent, rank


_D4 = np.array([f"{i:04d}" for i in range(10_000)], dtype="S4").view(np.uint32)  # '0000'..'9999'


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative ``values`` as an ``(n, width)`` uint8 matrix."""
    v = np.asarray(values, np.int64)
    groups = -(-width // 4)
    g = np.empty((len(v), groups), np.uint32)
    for i in range(groups - 1, -1, -1):  # 4 digits per table lookup
        g[:, i] = _D4[v % 10_000]
        if i:
            v = v // 10_000
    return g.view(np.uint8).reshape(len(v), groups * 4)[:, groups * 4 - width :]


def _fixed_width_strings(buf: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Zero-copy Arrow string array from an ``(n, width)`` uint8 matrix."""
    n, width = buf.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32) if n else np.zeros(1, np.int32)
    data = np.ascontiguousarray(buf).reshape(-1)
    if valid is None or bool(np.all(valid)):
        return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))
    bitmap = np.packbits(np.asarray(valid, np.uint8), bitorder="little")
    return pa.StringArray.from_buffers(
        n,
        pa.py_buffer(offsets),
        pa.py_buffer(data),
        pa.py_buffer(bitmap),
        int(n - np.count_nonzero(valid)),
    )


def id_strings(
    prefix: str, numbers: np.ndarray, width: int, valid: np.ndarray | None = None
) -> pa.Array:
    """Format ids like ``C0000001`` (prefix + zero-padded number), vectorised."""
    numbers = np.asarray(numbers, np.int64)
    if valid is not None:
        numbers = np.where(valid, numbers, 0)
    p = np.frombuffer(prefix.encode("ascii"), np.uint8)
    buf = np.empty((len(numbers), len(p) + width), np.uint8)
    buf[:, : len(p)] = p
    buf[:, len(p) :] = _digits(numbers, width)
    return _fixed_width_strings(buf, valid)


def _customer_ids(
    numbers: np.ndarray, duplicate: np.ndarray | None, valid: np.ndarray | None = None
) -> pa.Array:
    """Customer ids ``C#######``, or ``G#######`` (DUPLICATE_PREFIX) where ``duplicate``."""
    ids = id_strings("C", numbers, 7, valid)
    if duplicate is None or not bool(np.any(duplicate)):
        return ids
    return pc.if_else(
        pa.array(np.asarray(duplicate, bool)), id_strings(DUPLICATE_PREFIX, numbers, 7, valid), ids
    )


def customer_phone_numbers(numbers: np.ndarray) -> np.ndarray:
    """The 10 national digits of each customer's phone, a bijection of the customer number
    (1 .. 9,999,999): no two customers share a phone unless one is planted. The first digit is
    2-9, never 0, so a trunk '0' written before them is never read as an international '00'."""
    x = np.asarray(numbers, np.int64)
    permuted = (x * PHONE_MULTIPLIER + PHONE_SHIFT) % PHONE_PRIME
    return 2_000_000_000 + permuted * 700 + (x * 37) % 700


def phone_strings(
    digits: np.ndarray, country: np.ndarray, variant: np.ndarray | None = None
) -> pa.Array:
    """Phones as the CRM writes them: ``+<calling code> <10 digits>``, or where ``variant`` is
    >= 0 the country's PHONE_FORMATS[variant % len] (the same E.164 number written otherwise)."""
    digits = np.asarray(digits, np.int64)
    country = np.asarray(country, np.int64)
    base = pc.binary_join_element_wise(
        _take_strings(DIAL_CODES, country), pc.cast(pa.array(digits), pa.string()), ""
    )
    if variant is None or not bool(np.any(np.asarray(variant) >= 0)):
        return base
    variant = np.asarray(variant, np.int64)
    rows = np.flatnonzero(variant >= 0)
    written = np.empty(len(rows), object)
    matrix = _digits(digits[rows], 10)
    for ci, code in enumerate(COUNTRIES):  # one pass per country and format (a few dozen)
        formats = PHONE_FORMATS[code]
        for fi, template in enumerate(formats):
            m = (country[rows] == ci) & (variant[rows] % len(formats) == fi)
            if not m.any():
                continue
            tpl = np.frombuffer(template.encode("ascii"), np.uint8)
            slots = np.flatnonzero(tpl == ord("D"))
            buf = np.tile(tpl, (int(m.sum()), 1))
            buf[:, slots] = matrix[m]
            written[m] = buf.view(f"S{len(tpl)}").reshape(-1).astype(str)
    mask = np.zeros(len(digits), bool)
    mask[rows] = True
    return pc.replace_with_mask(base, pa.array(mask), pa.array(written, pa.string()))


def _civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proleptic Gregorian (year, month, day) from days since 1970-01-01 (H. Hinnant)."""
    z = days + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = y + (m <= 2)
    return y, m, d


_HMS_CACHE: list[np.ndarray] = []


def _hms_table() -> np.ndarray:
    """'HH:MM:SS' for every second of a day, as uint64 (8 ASCII bytes each)."""
    if not _HMS_CACHE:
        sod = np.arange(DAY, dtype=np.int64)
        buf = np.empty((DAY, 8), np.uint8)
        buf[:, 0:2] = _digits(sod // 3600, 2)
        buf[:, 2] = ord(":")
        buf[:, 3:5] = _digits((sod // 60) % 60, 2)
        buf[:, 5] = ord(":")
        buf[:, 6:8] = _digits(sod % 60, 2)
        _HMS_CACHE.append(buf.view(np.uint64).reshape(-1))
    return _HMS_CACHE[0]


_ISO_DTYPE = np.dtype([("date", "S11"), ("time", "<u8")])  # 'YYYY-MM-DDT' + 'HH:MM:SS' = 19 bytes


def iso_strings(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Format epoch seconds as ``YYYY-MM-DDTHH:MM:SS`` strings (UTC), vectorised.

    Uses a per-call table of the dates in range and a table of all times of day,
    so each value costs two lookups.
    """
    secs = np.asarray(seconds, np.int64)
    n = len(secs)
    if valid is not None:
        secs = np.where(valid, secs, secs[valid].min() if np.any(valid) else 0)
    if n == 0:
        return pa.array([], pa.string())
    days = np.floor_divide(secs, DAY)
    sod = secs - days * DAY
    d0, d1 = int(days.min()), int(days.max())
    all_days = np.arange(d0, d1 + 1, dtype=np.int64)
    y, m, d = _civil_from_days(all_days)
    tab = np.empty((len(all_days), 11), np.uint8)
    tab[:, 0:4] = _digits(y, 4)
    tab[:, 4] = ord("-")
    tab[:, 5:7] = _digits(m, 2)
    tab[:, 7] = ord("-")
    tab[:, 8:10] = _digits(d, 2)
    tab[:, 10] = ord("T")
    out = np.empty(n, _ISO_DTYPE)
    out["date"] = tab.view("S11").reshape(-1)[days - d0]
    out["time"] = _hms_table()[sod]
    return _fixed_width_strings(out.view(np.uint8).reshape(n, 19), valid)


def _take_strings(vocab: Sequence[str] | pa.Array, codes: np.ndarray) -> pa.Array:
    """Map integer codes to strings of ``vocab``; negative codes become null."""
    arr = vocab if isinstance(vocab, pa.Array) else pa.array(list(vocab), pa.string())
    codes = np.asarray(codes, np.int64)
    idx = pa.array(codes, mask=codes < 0) if np.any(codes < 0) else pa.array(codes)
    return arr.take(idx)


def _repeat_string(value: str, n: int) -> pa.Array:
    """String array holding ``value`` ``n`` times."""
    return pa.array([value], pa.string()).take(pa.array(np.zeros(n, np.int64)))


def _scaled_array(values: np.ndarray, divisor: float) -> pa.Array:
    """float64 Arrow array ``values / divisor``; negative values become null."""
    values = np.asarray(values)
    null = values < 0
    out = values / divisor
    return pa.array(out, pa.float64(), mask=null) if null.any() else pa.array(out, pa.float64())


def _int_array(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """int64 Arrow array, optionally with nulls where ``valid`` is False."""
    values = np.asarray(values, np.int64)
    if valid is None or bool(np.all(valid)):
        return pa.array(values, pa.int64())
    return pa.array(values, pa.int64(), mask=~np.asarray(valid, bool))


def _epoch(d: date) -> int:
    """Epoch seconds of midnight UTC of ``d``."""
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def _subject_strings(kind: np.ndarray, number: np.ndarray) -> pa.Array:
    """Subject ids: kind 0 -> customer id ``C#######``, kind 1 -> anonymous id ``A########``."""
    kind = np.asarray(kind)
    cust = id_strings("C", number, 7, valid=kind == 0)
    anon = id_strings("A", number, 8, valid=kind == 1)
    return pc.if_else(pa.array(kind == 0), cust, anon)


# --------------------------------------------------------------------------- #
# World: chunk-independent reference data
# --------------------------------------------------------------------------- #


@dataclass
class _World:
    """Catalogue, calendars and vocabularies shared by all chunks."""

    cfg: GeneratorConfig
    window_start: int
    window_end: int
    end_day_start: int
    # catalogue
    prod_cat: np.ndarray
    prod_sub: list[str]
    prod_brand: list[str]
    prod_price_cents: np.ndarray
    sorted_idx: np.ndarray
    cat_start: np.ndarray
    cat_n: np.ndarray
    # calendars
    sale_start: np.ndarray
    sale_end: np.ndarray
    sale_code: np.ndarray
    send_time: np.ndarray
    send_code: np.ndarray
    # vocabularies (Arrow arrays for fast take)
    campaigns: pa.Array
    camp_brand: int
    camp_generic0: int
    camp_prospect0: int
    camp_coupon: int
    urls: pa.Array
    u_home: int
    u_cat0: int
    u_prod0: int
    u_cart: int
    u_checkout: int
    u_confirm: int
    u_newsletter: int
    u_contact: int
    u_account: int
    u_signup: int
    u_search0: int
    u_blog0: int
    u_video0: int
    cities: pa.Array
    city_start: np.ndarray
    city_n: np.ndarray
    product_ids: pa.Array = field(default_factory=lambda: pa.array([], pa.string()))
    country_weights: np.ndarray = field(default_factory=lambda: COUNTRY_WEIGHTS)
    session_scale: float = 1.0
    str_cache: dict[str, pa.Array] = field(default_factory=dict)
    #: first second of the drifted behaviour (GeneratorConfig.drift_from), or None
    drift_start: int | None = None

    @property
    def span(self) -> int:
        """Length of the window in seconds."""
        return self.window_end - self.window_start + 1

    def vocab(self, name: str, values: Sequence[str]) -> pa.Array:
        """Cached Arrow string array for a static vocabulary."""
        if name not in self.str_cache:
            self.str_cache[name] = pa.array(list(values), pa.string())
        return self.str_cache[name]


def _build_world(cfg: GeneratorConfig) -> _World:
    """Deterministically build catalogue, sale/e-mail calendars and URL vocabulary."""
    rng = _rng(cfg.seed, 0)
    ws = _epoch(cfg.end_date) - (cfg.window_days - 1) * DAY
    we = _epoch(cfg.end_date) + DAY - 1
    span_days = cfg.window_days

    # --- products (grouped by category, then shuffled so ids do not leak order)
    cats, subs, brands, prices = [], [], [], []
    for c, cat in enumerate(CATEGORIES):
        n = CATEGORY_SIZE[c]
        median, sigma = CATEGORY_PRICE[c]
        cats.append(np.full(n, c, np.int64))
        subs.extend(
            np.array(SUBCATEGORIES[cat])[rng.integers(0, len(SUBCATEGORIES[cat]), n)].tolist()
        )
        brands.extend(np.array(BRANDS[cat])[rng.integers(0, len(BRANDS[cat]), n)].tolist())
        raw = np.minimum(median * np.exp(sigma * rng.standard_normal(n)), median * 10)
        prices.append(np.maximum(np.floor(raw), 1.0) * 100 + 99)
    cat_arr = np.concatenate(cats)
    price_arr = np.concatenate(prices).astype(np.int64)
    perm = rng.permutation(len(cat_arr))
    prod_cat = cat_arr[perm]
    prod_price = price_arr[perm]
    prod_sub = [subs[i] for i in perm]
    prod_brand = [brands[i] for i in perm]
    sorted_idx = np.lexsort((np.arange(len(prod_cat)), prod_price, prod_cat))
    cat_n = np.bincount(prod_cat, minlength=N_CAT).astype(np.int64)
    cat_start = np.concatenate([[0], np.cumsum(cat_n)[:-1]]).astype(np.int64)

    # --- sale calendar: 3-day sales every 21 days starting on day 5
    themes = ("flash", "weekend", "clearance", "midseason", "summer", "members")
    sale_days = np.arange(5, span_days, 21, dtype=np.int64)
    sale_start = ws + sale_days * DAY
    sale_end = sale_start + 3 * DAY
    sale_names = [
        f"sale_{themes[i % len(themes)]}_{datetime.fromtimestamp(int(s), UTC):%Y%m%d}"
        for i, s in enumerate(sale_start)
    ]
    campaigns: list[str] = list(sale_names)
    sale_code = np.arange(len(sale_names), dtype=np.int64)
    camp_brand = len(campaigns)
    campaigns.append("brand_search")
    camp_generic0 = len(campaigns)
    campaigns.extend(f"generic_{c}" for c in CATEGORIES)
    camp_prospect0 = len(campaigns)
    campaigns.extend(f"prospecting_{c}" for c in CATEGORIES)
    camp_coupon = len(campaigns)
    campaigns.append("sale_coupon_10off")

    # --- e-mail sends every 4 days, 08:00-10:00 UTC
    send_days = np.arange(1, span_days, 4, dtype=np.int64)
    send_time = ws + send_days * DAY + 8 * 3600 + rng.integers(0, 7200, len(send_days))
    send_code = np.empty(len(send_time), np.int64)
    sidx = np.searchsorted(sale_start, send_time, side="right") - 1
    for i, t in enumerate(send_time):  # one iteration per e-mail campaign (few dozen)
        j = sidx[i]
        if j >= 0 and t < sale_end[j]:
            send_code[i] = sale_code[j]
        else:
            send_code[i] = len(campaigns)
            campaigns.append(f"newsletter_{datetime.fromtimestamp(int(t), UTC):%Y%m%d}")

    # --- URL vocabulary
    urls: list[str] = [f"{BASE_URL}/"]
    u_cat0 = len(urls)
    urls.extend(f"{BASE_URL}/c/{c}" for c in CATEGORIES)
    u_prod0 = len(urls)
    urls.extend(f"{BASE_URL}/p/P{i + 1:04d}" for i in range(len(prod_cat)))
    fixed = [
        "cart",
        "checkout",
        "checkout/confirmation",
        "newsletter",
        "contact",
        "account",
        "signup",
    ]
    u_fixed = len(urls)
    urls.extend(f"{BASE_URL}/{p}" for p in fixed)
    u_search0 = len(urls)
    for c in CATEGORIES:
        urls.extend(f"{BASE_URL}/search?q={t}" for t in SEARCH_TERMS[c])
    u_blog0 = len(urls)
    for c in CATEGORIES:
        urls.extend(f"{BASE_URL}/blog/{c}/article-{k + 1}" for k in range(5))
    u_video0 = len(urls)
    for c in CATEGORIES:
        urls.extend(f"{BASE_URL}/videos/{c}-{k + 1}" for k in range(3))

    # --- cities
    city_list: list[str] = []
    city_start, city_n = [], []
    for ctry in COUNTRIES:
        city_start.append(len(city_list))
        city_n.append(len(CITIES[ctry]))
        city_list.extend(CITIES[ctry])

    return _World(
        cfg=cfg,
        window_start=ws,
        window_end=we,
        end_day_start=_epoch(cfg.end_date),
        prod_cat=prod_cat,
        prod_sub=prod_sub,
        prod_brand=prod_brand,
        prod_price_cents=prod_price,
        sorted_idx=sorted_idx,
        cat_start=cat_start,
        cat_n=cat_n,
        sale_start=sale_start,
        sale_end=sale_end,
        sale_code=sale_code,
        send_time=send_time.astype(np.int64),
        send_code=send_code,
        campaigns=pa.array(campaigns, pa.string()),
        camp_brand=camp_brand,
        camp_generic0=camp_generic0,
        camp_prospect0=camp_prospect0,
        camp_coupon=camp_coupon,
        urls=pa.array(urls, pa.string()),
        u_home=0,
        u_cat0=u_cat0,
        u_prod0=u_prod0,
        u_cart=u_fixed,
        u_checkout=u_fixed + 1,
        u_confirm=u_fixed + 2,
        u_newsletter=u_fixed + 3,
        u_contact=u_fixed + 4,
        u_account=u_fixed + 5,
        u_signup=u_fixed + 6,
        u_search0=u_search0,
        u_blog0=u_blog0,
        u_video0=u_video0,
        cities=pa.array(city_list, pa.string()),
        city_start=np.array(city_start, np.int64),
        city_n=np.array(city_n, np.int64),
        product_ids=id_strings("P", np.arange(len(prod_cat)) + 1, 4),
        # one country: a one-hot mix draws the same random numbers as the usual one
        country_weights=(
            COUNTRY_WEIGHTS
            if cfg.country is None
            else (np.array(COUNTRIES) == cfg.country).astype(np.float64)
        ),
    )


# --------------------------------------------------------------------------- #
# Chunk simulation (numeric)
# --------------------------------------------------------------------------- #


@dataclass
class _Chunk:
    """Numeric simulation result of one chunk of subjects (ids still local)."""

    c0: int
    nc: int
    na: int
    n_anon_ids: int
    persona: np.ndarray
    anon_local_of_visitor: np.ndarray
    device_links: dict[str, np.ndarray]
    customers: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    orders: dict[str, np.ndarray]
    items: dict[str, np.ndarray]
    consents: dict[str, np.ndarray]
    surveys: dict[str, np.ndarray]
    experiments: dict[str, np.ndarray]
    n_events_scaled: int
    n_events_fixed: int


def _sample_session_starts(
    rng: np.random.Generator, world: _World, a: np.ndarray, b: np.ndarray, persona: np.ndarray
) -> np.ndarray:
    """Visit start times inside [a, b] (day granularity) with persona hour-of-day habits."""
    n = len(a)
    a_day = a // DAY
    b_day = b // DAY
    day = a_day + (rng.random(n) * (b_day - a_day + 1)).astype(np.int64)
    if len(world.sale_start):
        use_sale = rng.random(n) < PP.sale_affinity[persona]
        k = rng.integers(0, len(world.sale_start), n)
        sd = world.sale_start[k] // DAY + rng.integers(0, 3, n)
        ok = use_sale & (sd >= a_day) & (sd <= b_day)
        day = np.where(ok, sd, day)
    hour = _choice_by_group(rng, persona, PP.hours)
    t = day * DAY + hour * 3600 + rng.integers(0, 3600, n)
    return np.clip(t, world.window_start, world.window_end)


def _simulate_chunk(
    world: _World,
    rng: np.random.Generator,
    c0: int,
    nc: int,
    na: int,
    experiment_rng: np.random.Generator | None = None,
    drift_rng: np.random.Generator | None = None,
) -> _Chunk:
    """Simulate ``nc`` customers (global index from ``c0``) and ``na`` anonymous visitors.
    ``experiment_rng`` (a stream of its own) assigns the broken-split experiment; without it the
    chunk has only the experiments of EXPERIMENTS. ``drift_rng`` (a stream of its own, so the
    rest of the chunk is drawn as without drift) applies DRIFT from ``world.drift_start``."""
    drifting = drift_rng is not None and world.drift_start is not None
    ws, we, span = world.window_start, world.window_end, world.span
    scale = world.session_scale
    n = nc + na
    is_cust = np.arange(n) < nc
    persona = np.full(n, P_ANON, np.int64)
    persona[:nc] = rng.choice(len(CUSTOMER_PERSONAS), size=nc, p=PERSONA_SHARES)
    cust_num = np.where(is_cust, c0 + np.arange(n) + 1, -1).astype(np.int64)
    country = rng.choice(len(COUNTRIES), size=n, p=world.country_weights)
    city = world.city_start[country] + (rng.random(n) * world.city_n[country]).astype(np.int64)
    region = REGION_OF_COUNTRY[country]

    # ---- activity windows and signup
    a = np.full(n, ws, np.int64)
    b = np.full(n, we, np.int64)
    signup = np.full(n, -1, np.int64)
    new = persona == P_NEW
    lapsed = persona == P_LAPSED
    existing = is_cust & ~new
    signup[existing] = ws - 3600 - (rng.random(int(existing.sum())) * 730 * DAY).astype(np.int64)
    b[lapsed] = ws + ((0.2 + 0.25 * rng.random(int(lapsed.sum()))) * span).astype(np.int64)
    new_window = min(28 * DAY, span // 2)
    t_signup = we - (rng.random(int(new.sum())) * new_window).astype(np.int64)
    signup[new] = t_signup
    a[new] = np.maximum(ws, t_signup - 14 * DAY)
    anon = ~is_cust
    first = ws + (rng.random(na) * span).astype(np.int64)
    a[anon] = first
    b[anon] = np.minimum(we, first + (rng.random(na) * 21 * DAY).astype(np.int64))
    act_mult = rng.lognormal(-0.08, 0.4, n)
    email_mult = rng.lognormal(-0.08, 0.4, n)

    # ---- devices (anonymous ids) and login times
    n_dev = np.ones(n, np.int64)
    n_dev += is_cust & (rng.random(n) < PP.p_two_devices[persona])
    dev_type = np.empty((n, 2), np.int64)
    dev_type[:, 0] = _choice_by_group(rng, persona, PP.device_mix)
    dev_type[:, 1] = np.where(
        dev_type[:, 0] == MOBILE, np.where(rng.random(n) < 0.7, DESKTOP, TABLET), MOBILE
    )
    exists = np.stack([np.ones(n, bool), n_dev == 2], axis=1)
    n_anon_ids = int(exists.sum())
    dev_local = np.full((n, 2), -1, np.int64)
    dev_local[exists] = rng.permutation(n_anon_ids)
    login = np.full((n, 2), BIG_TS, np.int64)
    alen = (b - a).astype(np.float64)
    login[existing, 0] = a[existing] + rng.exponential(0.08 * alen[existing]).astype(np.int64)
    login[existing, 1] = a[existing] + rng.exponential(0.2 * alen[existing]).astype(np.int64)
    login[new, 0] = t_signup
    login[new, 1] = t_signup + rng.exponential(0.3 * (we - t_signup + 1)).astype(np.int64)

    # ---- customer-level consents (recorded at signup or at the CMP roll-out at window start)
    cmp_len = max(1, min(7 * DAY, span // 10))
    t_consent = np.where(new, signup, ws + rng.integers(0, cmp_len, n))
    p_grant = CONSENT_GRANT[region].copy()
    p_grant[:, 2] = np.clip(p_grant[:, 2] + PP.marketing_tilt[persona], 0.0, 1.0)
    granted = rng.random((n, 3)) < p_grant
    room = we - t_consent - 3600
    revoked = granted & (rng.random((n, 3)) < CONSENT_REVOKE) & (room > 3600)[:, None]
    t_revoke = (
        t_consent[:, None]
        + 3600
        + (rng.random((n, 3)) * np.maximum(room, 0)[:, None]).astype(np.int64)
    )
    mk_from = np.where(granted[:, 2], t_consent, BIG_TS)
    mk_until = np.where(revoked[:, 2], t_revoke[:, 2], BIG_TS)

    # ---- e-mail opens / clicks (customers with marketing consent only)
    S = len(world.send_time)
    em_subj = em_type = em_time = em_camp = np.zeros(0, np.int64)
    cs_subj = cs_start = cs_camp = np.zeros(0, np.int64)
    if S and nc:
        st = world.send_time[None, :]
        elig = (
            (st >= mk_from[:nc, None])
            & (st < mk_until[:nc, None])
            & (st >= np.maximum(a[:nc], signup[:nc])[:, None])
            & (st <= b[:nc, None])
        )
        p_open = np.clip(PP.p_email_open[persona[:nc]] * email_mult[:nc], 0.0, 0.95)
        opened = elig & (rng.random((nc, S)) < p_open[:, None])
        oc, osend = np.nonzero(opened)
        t_open = world.send_time[osend] + 30 + rng.exponential(5 * 3600, len(oc)).astype(np.int64)
        clicked = rng.random(len(oc)) < PP.p_email_click[persona[oc]]
        t_click = t_open[clicked] + 5 + rng.exponential(60, int(clicked.sum())).astype(np.int64)
        em_subj = np.concatenate([oc, oc[clicked]])
        em_type = np.concatenate(
            [np.full(len(oc), ET_EMAIL_OPEN), np.full(int(clicked.sum()), ET_EMAIL_CLICK)]
        )
        em_time = np.concatenate([t_open, t_click])
        em_camp = world.send_code[np.concatenate([osend, osend[clicked]])]
        cs_subj = oc[clicked]
        cs_start = t_click + 3 + rng.integers(0, 15, len(cs_subj))
        cs_camp = world.send_code[osend[clicked]]

    # ---- visits: regular (0), e-mail click-through (1), signup (2); kind 3 = one e-mail event
    days_active = (b - a + 1) / DAY
    lam_c = PP.sessions_per_week[persona] / 7.0 * days_active * act_mult * scale
    lam_a = PP.sessions_per_week[P_ANON] * scale
    n_sess = np.where(is_cust, np.maximum(n_dev, rng.poisson(lam_c)), 1 + rng.poisson(lam_a, n))
    rs_subj = np.repeat(np.arange(n, dtype=np.int64), n_sess)
    rs_start = _sample_session_starts(rng, world, a[rs_subj], b[rs_subj], persona[rs_subj])
    if drifting:  # a share of the drifted regular visits moves to 00-03 of its day
        moved = (rs_start >= world.drift_start) & (
            drift_rng.random(len(rs_start)) < DRIFT.night_share
        )
        small_hours = drift_rng.integers(0, 4 * 3600, len(rs_start))
        rs_start = np.where(
            moved, np.maximum(rs_start // DAY * DAY + small_hours, world.drift_start), rs_start
        )
    # every two-device customer logs in on the second device in one visit at least
    first_of_subj = np.cumsum(n_sess) - n_sess
    two = np.flatnonzero(n_dev == 2)
    rs_force2 = np.zeros(len(rs_subj), bool)
    rs_force2[first_of_subj[two] + (rng.random(len(two)) * n_sess[two]).astype(np.int64)] = True
    su_subj = np.flatnonzero(new)
    su_start = signup[su_subj]
    sizes = (len(rs_subj), len(cs_subj), len(su_subj), len(em_subj))
    subj = np.concatenate([rs_subj, cs_subj, su_subj, em_subj])
    start = np.concatenate([rs_start, cs_start, su_start, em_time])
    kind = np.repeat(np.arange(4, dtype=np.int64), sizes)
    s_camp = np.concatenate(
        [np.full(sizes[0], -1, np.int64), cs_camp, np.full(sizes[2], -1, np.int64), em_camp]
    )
    s_etype = np.concatenate([np.full(sum(sizes[:3]), -1, np.int64), em_type])
    force2 = np.concatenate([rs_force2, np.zeros(sum(sizes[1:]), bool)])
    order = np.lexsort((kind, subj, start))  # visits in time order
    subj, start, kind, s_camp, s_etype, force2 = (
        x[order] for x in (subj, start, kind, s_camp, s_etype, force2)
    )
    ns = len(subj)
    ps = persona[subj]
    web = kind != 3

    dev = ((n_dev[subj] == 2) & ((rng.random(ns) < PP.p_second_device[ps]) | force2)).astype(
        np.int64
    )
    dev[kind >= 2] = 0

    # focus category and price level of the visit
    cat_pref_scores = np.log(PP.category_weights[persona]) + rng.gumbel(size=(n, N_CAT))
    cat_pref = np.argsort(-cat_pref_scores, axis=1)[:, :3]
    price_pref = rng.beta(PP.price_beta[persona, 0], PP.price_beta[persona, 1])
    r = rng.random(ns)
    focus = cat_pref[subj, (r > 0.6).astype(np.int64) + (r > 0.85)]
    q = np.clip(price_pref[subj] + rng.normal(0.0, 0.08, ns), 0.0, 0.999)
    pos = (q * world.cat_n[focus]).astype(np.int64)

    def product_of(s_idx: np.ndarray, k: np.ndarray) -> np.ndarray:
        f = focus[s_idx]
        return world.sorted_idx[world.cat_start[f] + (pos[s_idx] + k) % world.cat_n[f]]

    # channel and utm
    if len(world.sale_start):
        sidx = np.searchsorted(world.sale_start, start, side="right") - 1
        in_sale = (sidx >= 0) & (start < world.sale_end[np.maximum(sidx, 0)])
        sale_camp = world.sale_code[np.maximum(sidx, 0)]
    else:
        in_sale = np.zeros(ns, bool)
        sale_camp = np.zeros(ns, np.int64)
    channel = SESSION_CHANNELS[_choice_by_group(rng, ps, PP.channel_mix)]
    channel[(kind == 1) | (kind == 3)] = CH_EMAIL
    u_src = np.full(ns, -1, np.int64)
    u_med = np.full(ns, -1, np.int64)
    u_camp = np.full(ns, -1, np.int64)
    r1, r2, r3 = rng.random(ns), rng.random(ns), rng.random(ns)
    m = channel == CH_PAID
    u_src[m] = np.where(r1[m] < 0.8, 0, 1)
    u_med[m] = 0
    u_camp[m] = np.where(
        in_sale[m] & (r2[m] < 0.7),
        sale_camp[m],
        np.where(r3[m] < 0.4, world.camp_brand, world.camp_generic0 + focus[m]),
    )
    m = (channel == CH_SOCIAL) & (r1 < 0.6)
    u_src[m] = 2 + (r2[m] * 4).astype(np.int64)
    u_med[m] = 1
    u_camp[m] = np.where(in_sale[m] & (r3[m] < 0.5), sale_camp[m], world.camp_prospect0 + focus[m])
    m = channel == CH_AFFILIATE
    u_src[m] = 6 + (r1[m] * 3).astype(np.int64)
    u_med[m] = 2
    u_camp[m] = np.where(in_sale[m], sale_camp[m], world.camp_coupon)
    m = channel == CH_EMAIL
    u_src[m] = 9
    u_med[m] = 3
    u_camp[m] = s_camp[m]

    # ---- visit content (funnel)
    boost = np.where((ps == P_BARGAIN) & in_sale, 1.3, 1.0) * np.where(kind == 1, 1.2, 1.0)
    n_pv = np.where(web, 1 + rng.poisson(PP.mu_extra_pages[ps]), 0)
    n_prod = np.where(web, rng.poisson(PP.mu_products[ps]), 0)
    if drifting:  # drifted visits view more products
        n_prod = n_prod + np.where(
            web & (start >= world.drift_start), drift_rng.poisson(DRIFT.extra_products, ns), 0
        )
    n_search = np.where(web, rng.poisson(PP.mu_search[ps]), 0)
    n_video = np.where(web, rng.poisson(PP.mu_video[ps]), 0)
    n_wish = np.where(web, rng.poisson(PP.mu_wishlist[ps]), 0)
    n_form = (web & (rng.random(ns) < PP.p_form[ps])).astype(np.int64)
    n_form[kind == 2] = 1
    has_cart = web & (rng.random(ns) < np.clip(PP.p_cart[ps] * boost, 0, 0.95))
    n_cart = np.where(has_cart, np.minimum(1 + rng.poisson(PP.mu_cart_items[ps] - 1.0), 8), 0)
    n_prod = np.maximum(n_prod, n_cart)
    n_remove = ((n_cart > 0) & (rng.random(ns) < PP.p_remove[ps])).astype(np.int64)
    n_items = n_cart - n_remove
    checkout = (n_items > 0) & (rng.random(ns) < PP.p_checkout[ps])
    may_buy = ~((ps == P_NEW) & (start < signup[subj]))
    purchase = checkout & (rng.random(ns) < PP.p_purchase[ps]) & may_buy

    # events are built per type in compact dtypes, then ordered within each visit
    parts: list[tuple[np.ndarray, ...]] = []
    rand_bits = 20

    def add(
        etype: int,
        s_idx: np.ndarray,
        stage: np.ndarray | int,
        product: np.ndarray | None = None,
        url: np.ndarray | int = -1,
        cat: np.ndarray | None = None,
        scroll: np.ndarray | None = None,
        engaged: np.ndarray | None = None,
    ) -> None:
        m_ = len(s_idx)
        key = (s_idx.astype(np.int64) << (rand_bits + 3)) | (
            np.asarray(stage, np.int64) << rand_bits
        )
        key |= rng.integers(0, 1 << rand_bits, m_)  # random order within a stage
        parts.append(
            (
                key,
                np.full(m_, etype, np.int8),
                np.full(m_, -1, np.int16) if product is None else product.astype(np.int16),
                np.broadcast_to(np.asarray(url, np.int32), (m_,)),
                np.full(m_, -1, np.int8) if cat is None else cat.astype(np.int8),
                np.full(m_, -1, np.int8) if scroll is None else scroll.astype(np.int8),
                np.full(m_, -1, np.int32) if engaged is None else engaged.astype(np.int32),
            )
        )

    def scroll_engaged(s_idx: np.ndarray, factor: float) -> tuple[np.ndarray, np.ndarray]:
        p_ = ps[s_idx]
        sc = np.round(rng.beta(PP.scroll_beta[p_, 0], PP.scroll_beta[p_, 1]) * 100.0)
        en = np.round(
            10.0 + rng.exponential(PP.engaged_mean[p_] * factor * 10.0)
        )  # tenths of seconds
        return sc, en

    # page views
    s_idx, k = _expand(n_pv)
    landing = k == 0
    lm = _choice_by_group(rng, ps[s_idx], PP.landing_mix)
    pm = _choice_by_group(rng, ps[s_idx], PP.page_mix)
    f = focus[s_idx]
    other_cat = rng.integers(0, N_CAT, len(s_idx))
    blog = world.u_blog0 + f * 5 + rng.integers(0, 5, len(s_idx))
    url_l = np.select(
        [lm == 0, lm == 1, lm == 2],
        [world.u_home, world.u_cat0 + f, blog],
        world.u_prod0 + product_of(s_idx, k),
    )
    cat_l = np.where(lm == 0, -1, f)
    url_p = np.select(
        [pm == 0, pm == 1, pm == 2, pm == 3],
        [world.u_home, world.u_cat0 + f, world.u_cat0 + other_cat, blog],
        world.u_account,
    )
    cat_p = np.select([pm == 1, pm == 2, pm == 3], [f, other_cat, f], -1)
    sc, en = scroll_engaged(s_idx, 1.0)
    add(
        ET_PAGE_VIEW,
        s_idx,
        np.where(landing, 0, 1),
        url=np.where(landing, url_l, url_p),
        cat=np.where(landing, cat_l, cat_p),
        scroll=sc,
        engaged=en,
    )
    # product views
    s_idx, k = _expand(n_prod)
    prod = product_of(s_idx, k)
    sc, en = scroll_engaged(s_idx, 1.3)
    add(
        ET_PRODUCT_VIEW,
        s_idx,
        1,
        product=prod,
        url=world.u_prod0 + prod,
        cat=world.prod_cat[prod],
        scroll=sc,
        engaged=en,
    )
    # searches
    s_idx, _ = _expand(n_search)
    add(
        ET_SEARCH, s_idx, 1, url=world.u_search0 + focus[s_idx] * 4 + rng.integers(0, 4, len(s_idx))
    )
    # videos
    s_idx, _ = _expand(n_video)
    f = focus[s_idx]
    add(
        ET_VIDEO,
        s_idx,
        1,
        url=world.u_video0 + f * 3 + rng.integers(0, 3, len(s_idx)),
        cat=f,
        engaged=np.round(50.0 + rng.exponential(PP.video_mean[ps[s_idx]] * 10.0)),
    )
    # wishlist
    s_idx, k = _expand(n_wish)
    prod = product_of(s_idx, k)
    add(ET_WISHLIST, s_idx, 1, product=prod, url=world.u_prod0 + prod, cat=world.prod_cat[prod])
    # forms
    s_idx, _ = _expand(n_form)
    form_url = np.where(rng.random(len(s_idx)) < 0.7, world.u_newsletter, world.u_contact)
    form_url = np.where(kind[s_idx] == 2, world.u_signup, form_url)
    add(ET_FORM, s_idx, 1, url=form_url)
    # cart, checkout, purchase
    s_idx, k = _expand(n_cart)
    prod = product_of(s_idx, k)
    add(ET_ADD_TO_CART, s_idx, 2, product=prod, url=world.u_prod0 + prod, cat=world.prod_cat[prod])
    s_idx, _ = _expand(n_remove)
    prod = product_of(s_idx, n_cart[s_idx] - 1)
    add(ET_REMOVE_FROM_CART, s_idx, 3, product=prod, url=world.u_cart, cat=world.prod_cat[prod])
    add(ET_CHECKOUT, np.flatnonzero(checkout), 4, url=world.u_checkout)
    add(ET_PURCHASE, np.flatnonzero(purchase), 5, url=world.u_confirm)
    # e-mail pseudo-visits
    add(ET_EMAIL_OPEN, np.flatnonzero(s_etype == ET_EMAIL_OPEN), 0)
    add(ET_EMAIL_CLICK, np.flatnonzero(s_etype == ET_EMAIL_CLICK), 0)

    key = np.concatenate([p_[0] for p_ in parts])
    o = np.argsort(key)
    es = (key[o] >> (rand_bits + 3)).astype(np.int32)  # visit of each event
    del key
    e_type, e_prod, e_url, e_cat, e_scroll, e_eng = (
        np.concatenate([p_[i] for p_ in parts])[o] for i in range(1, 7)
    )
    parts.clear()  # free the pieces (the nested add() above still names the list)
    ne = len(es)
    dwell = np.where(
        e_eng < 0, 2.0 + rng.exponential(12.0, ne), e_eng / 10.0 + rng.exponential(3.0, ne)
    )
    first_ev = np.ones(ne, bool)
    first_ev[1:] = es[1:] != es[:-1]
    gap = np.empty(ne)
    if ne:
        gap[0] = 0.0
        gap[1:] = dwell[:-1]
    gap[first_ev] = 0.0
    cs = np.cumsum(gap)
    offset = cs - np.repeat(cs[first_ev], np.diff(np.append(np.flatnonzero(first_ev), ne)))
    e_time = start[es] + offset.astype(np.int64)
    keep = e_time <= we  # the export is cut at the end of the window
    if not keep.all():
        es, e_type, e_prod, e_url, e_cat, e_scroll, e_eng, e_time = (
            x[keep] for x in (es, e_type, e_prod, e_url, e_cat, e_scroll, e_eng, e_time)
        )
    session_valid = web & (start <= we)

    # ---- orders from surviving purchase events
    pmask = e_type == ET_PURCHASE
    o_sess = es[pmask].astype(np.int64)
    o_time = e_time[pmask]
    oo = np.argsort(o_time, kind="stable")
    o_sess, o_time = o_sess[oo], o_time[oo]
    n_orders = len(o_sess)
    order_of_sess = np.full(ns, -1, np.int64)
    order_of_sess[o_sess] = np.arange(n_orders)
    disc = np.where(
        in_sale, rng.uniform(0.15, 0.35, ns), np.where(channel == CH_AFFILIATE, 0.10, 0.0)
    )
    it_order, it_k = _expand(n_items[o_sess])
    it_sess = o_sess[it_order]
    it_prod = product_of(it_sess, it_k)
    it_qty = np.minimum(1 + rng.poisson(PP.mu_extra_qty[ps[it_sess]]), 6)
    it_cents = np.round(world.prod_price_cents[it_prod] * (1.0 - disc[it_sess])).astype(np.int64)
    total_cents = np.bincount(
        it_order, weights=(it_qty * it_cents).astype(np.float64), minlength=n_orders
    )
    total_cents = np.round(total_cents).astype(np.int64)
    o_status = _choice_by_group(rng, ps[o_sess], PP.status_mix)
    cur_r = rng.random(n_orders)
    o_currency = np.where(cur_r < 0.05, -1, np.where(cur_r < 0.08, 1, 0))
    o_customer = cust_num[subj[o_sess]]
    e_rev = np.full(len(es), -1, np.int64)
    e_rev[pmask] = total_cents[order_of_sess[es[pmask]]]
    e_order = np.full(len(es), -1, np.int32)  # the order of each purchase event
    e_order[pmask] = order_of_sess[es[pmask]]

    # ---- identity: purchases force a login on that device; login holds from then on
    login_flat = login.reshape(-1).copy()
    buyer = is_cust[subj[o_sess]]
    np.minimum.at(login_flat, (subj * 2 + dev)[o_sess][buyer], start[o_sess][buyer])
    np.minimum.at(login_flat, (subj * 2 + 1)[force2], start[force2])
    logged = web & (start >= login_flat[subj * 2 + dev])
    s_user = np.where(logged | ~web, cust_num[subj], -1).astype(np.int32)
    s_anon = np.where(web, dev_local[subj, dev], -1).astype(np.int32)
    s_device = np.where(web & (rng.random(ns) >= 0.005), dev_type[subj, dev], -1).astype(np.int8)
    geo_ok = rng.random(ns) >= 0.02  # geo lookup failed for ~2% of visits
    s_country = np.where(geo_ok, country[subj], -1).astype(np.int8)
    s_city = np.where(geo_ok, city[subj], -1).astype(np.int16)

    # ---- final event order: by time (visits are already nearly in time order)
    o = np.argsort(e_time, kind="stable")
    es = es[o]
    events = {
        "time": e_time[o],
        "type": e_type[o],
        "anon": s_anon[es],
        "user": s_user[es],
        "url": e_url[o],
        "product": e_prod[o],
        "cat": e_cat[o],
        "device": s_device[es],
        "channel": channel.astype(np.int8)[es],
        "src": u_src.astype(np.int8)[es],
        "med": u_med.astype(np.int8)[es],
        "camp": u_camp.astype(np.int16)[es],
        "country": s_country[es],
        "city": s_city[es],
        "scroll": e_scroll[o],
        "engaged": e_eng[o],
        "revenue": e_rev[o],
        "order": e_order[o],  # not written: the link from a purchase event to its order
    }
    ne = len(es)
    n_events_fixed = int(np.count_nonzero(kind[es] != 0))
    n_events_scaled = ne - n_events_fixed
    dev = np.where(web, dev, 0)

    # ---- device-level consents (cookie banner at first visit of each anonymous id)
    first_seen = np.full(n * 2, BIG_TS, np.int64)
    np.minimum.at(first_seen, (subj * 2 + dev)[session_valid], start[session_valid])
    seen = first_seen < BIG_TS
    d_slot = np.flatnonzero(seen)
    d_subj = d_slot // 2
    d_time = first_seen[d_slot]
    d_anon = dev_local.reshape(-1)[d_slot]
    d_region = region[d_subj]
    d_grant = rng.random((len(d_slot), 2)) < CONSENT_GRANT[d_region][:, :2]
    d_room = we - d_time - 3600
    d_rev = d_grant & (rng.random((len(d_slot), 2)) < CONSENT_REVOKE[:2]) & (d_room > 3600)[:, None]
    d_trev = (
        d_time[:, None]
        + 3600
        + (rng.random((len(d_slot), 2)) * np.maximum(d_room, 0)[:, None]).astype(np.int64)
    )

    ci = np.arange(nc)
    cons_parts = []
    for pi in range(3):  # customer-level records, all purposes
        cons_parts.append(
            (
                np.zeros(nc, np.int64),
                cust_num[ci],
                np.full(nc, pi),
                granted[ci, pi],
                t_consent[ci],
                region[ci],
            )
        )
        rv = ci[revoked[ci, pi]]
        cons_parts.append(
            (
                np.zeros(len(rv), np.int64),
                cust_num[rv],
                np.full(len(rv), pi),
                np.zeros(len(rv), bool),
                t_revoke[rv, pi],
                region[rv],
            )
        )
    for pi in range(2):  # device-level records: analytics + personalization
        nd = len(d_slot)
        cons_parts.append(
            (np.ones(nd, np.int64), d_anon, np.full(nd, pi), d_grant[:, pi], d_time, d_region)
        )
        rv = np.flatnonzero(d_rev[:, pi])
        cons_parts.append(
            (
                np.ones(len(rv), np.int64),
                d_anon[rv],
                np.full(len(rv), pi),
                np.zeros(len(rv), bool),
                d_trev[rv, pi],
                d_region[rv],
            )
        )
    consents = {
        key: np.concatenate([p_[i] for p_ in cons_parts])
        for i, key in enumerate(("kind", "number", "purpose", "granted", "time", "region"))
    }
    consents["region"] = np.where(rng.random(len(consents["kind"])) < 0.02, -1, consents["region"])
    o = np.argsort(consents["time"], kind="stable")
    consents = {key: v[o] for key, v in consents.items()}

    # ---- survey responses (~30% of customers, answers depend on persona)
    resp = np.flatnonzero(is_cust & (rng.random(n) < 0.30))
    lo = np.maximum(a[resp], signup[resp])
    hi = np.maximum(lo, b[resp])
    t_resp = lo + (rng.random(len(resp)) * (hi - lo + 1)).astype(np.int64)
    t_resp = np.minimum(t_resp, we)
    n_int = 1 + (rng.random(len(resp)) < 0.5) + (rng.random(len(resp)) < 0.2)
    scores = np.log(PP.interests[persona[resp]]) + rng.gumbel(size=(len(resp), len(INTERESTS)))
    ranked = np.argsort(-scores, axis=1)
    rr, rk = np.nonzero(np.arange(len(INTERESTS))[None, :] < n_int[:, None])
    val = _choice_by_group(rng, persona[resp], PP.values)
    surveys = {
        "customer": np.concatenate([cust_num[resp][rr], cust_num[resp]]),
        "question": np.concatenate([np.zeros(len(rr), np.int64), np.ones(len(resp), np.int64)]),
        "answer": np.concatenate([ranked[rr, rk], len(INTERESTS) + val]),
        "time": np.concatenate([t_resp[rr], t_resp + 30 + rng.integers(0, 90, len(resp))]),
    }
    surveys["time"] = np.minimum(surveys["time"], we)
    o = np.argsort(surveys["time"], kind="stable")
    surveys = {key: v[o] for key, v in surveys.items()}

    # ---- experiment assignments (first eligible visit after the experiment start)
    exp_parts = []
    for ei, (_, frac, with_anon) in enumerate(EXPERIMENTS):
        t0 = ws + int(frac * span)
        ok = session_valid & (start >= t0) & (logged | (with_anon & web & (ps == P_ANON)))
        sel = np.flatnonzero(ok)
        u_subj, first_i = np.unique(subj[sel], return_index=True)
        take = rng.random(len(u_subj)) < 0.8
        u_subj, first_i = u_subj[take], sel[first_i[take]]
        is_c = is_cust[u_subj]
        exp_parts.append(
            (
                np.where(is_c, 0, 1),
                np.where(is_c, cust_num[u_subj], dev_local[u_subj, 0]),
                np.full(len(u_subj), ei),
                (rng.random(len(u_subj)) < 0.5).astype(np.int64),
                start[first_i],
            )
        )
    if experiment_rng is not None:  # the broken split: first logged-in visit after its start
        t0 = ws + int(BROKEN_SPLIT_START * span)
        sel = np.flatnonzero(session_valid & (start >= t0) & logged)
        u_subj, first_i = np.unique(subj[sel], return_index=True)
        take = experiment_rng.random(len(u_subj)) < 0.5
        u_subj, first_i = u_subj[take], sel[first_i[take]]
        exp_parts.append(
            (
                np.zeros(len(u_subj), np.int64),
                cust_num[u_subj],
                np.full(len(u_subj), E_BROKEN),
                (experiment_rng.random(len(u_subj)) < BROKEN_SPLIT_TREATMENT_SHARE).astype(
                    np.int64
                ),
                start[first_i],
            )
        )
    experiments = {
        key: np.concatenate([p_[i] for p_ in exp_parts])
        for i, key in enumerate(("kind", "number", "experiment", "variant", "time"))
    }
    o = np.argsort(experiments["time"], kind="stable")
    experiments = {key: v[o] for key, v in experiments.items()}

    # ---- customers table attributes
    cp = persona[:nc]
    birth = np.round(rng.normal(PP.birth_year[cp, 0], PP.birth_year[cp, 1])).astype(np.int64)
    customers = {
        "number": cust_num[:nc],
        "first": rng.integers(0, len(FIRST_NAMES), nc),
        "last": rng.integers(0, len(LAST_NAMES), nc),
        "domain": rng.choice(len(EMAIL_DOMAINS), size=nc, p=EMAIL_DOMAIN_WEIGHTS),
        # drawn and replaced by customer_phone_numbers below, so that the later draws stay put
        "phone": rng.integers(1_000_000_000, 9_999_999_999, nc),
        "phone_ok": rng.random(nc) >= 0.25,
        "signup": signup[:nc],
        "birth_year": np.clip(birth, 1940, 2008),
        "birth_ok": rng.random(nc) >= 0.15,
        "gender": np.where(rng.random(nc) < 0.2, -1, rng.choice(3, size=nc, p=[0.50, 0.47, 0.03])),
        "country": country[:nc],
        "city": city[:nc],
        "postal": rng.integers(0, 100_000, nc),
        "postal_alpha": rng.integers(0, 26, (nc, 3)),
        "postal_ok": rng.random(nc) >= 0.10,
        "loyalty": _choice_by_group(rng, cp, PP.loyalty_mix) - 1,
        "acq": np.where(rng.random(nc) < 0.10, -1, _choice_by_group(rng, cp, PP.acquisition_mix)),
    }
    customers["phone"] = customer_phone_numbers(cust_num[:nc])

    orders = {
        "time": o_time,
        "customer": o_customer,
        "status": o_status,
        "currency": o_currency,
        "total_cents": total_cents,
    }
    items = {"order": it_order, "product": it_prod, "qty": it_qty, "cents": it_cents}

    return _Chunk(
        c0=c0,
        nc=nc,
        na=na,
        n_anon_ids=n_anon_ids,
        persona=persona,
        anon_local_of_visitor=dev_local[nc:, 0],
        device_links={
            "anon": d_anon[is_cust[d_subj]],
            "customer": cust_num[d_subj[is_cust[d_subj]]],
            "device": dev_type.reshape(-1)[d_slot[is_cust[d_subj]]],
        },
        customers=customers,
        events=events,
        orders=orders,
        items=items,
        consents=consents,
        surveys=surveys,
        experiments=experiments,
        n_events_scaled=n_events_scaled,
        n_events_fixed=n_events_fixed,
    )


# --------------------------------------------------------------------------- #
# Materialisation (numeric chunk -> Arrow tables with global ids)
# --------------------------------------------------------------------------- #


def _dict_strings(vocab: pa.Array, codes: np.ndarray) -> pa.DictionaryArray:
    """Dictionary-encoded strings (indices into ``vocab``); negative codes become null.

    Written to Parquet as ordinary (dictionary-encoded) STRING columns.
    """
    np_type, pa_type = (np.int8, pa.int8()) if len(vocab) < 128 else (np.int16, pa.int16())
    if len(vocab) >= 32_768:
        np_type, pa_type = np.int32, pa.int32()
    idx = np.asarray(codes).astype(np_type)
    null = idx < 0
    indices = pa.array(idx, pa_type, mask=null) if null.any() else pa.array(idx, pa_type)
    return pa.DictionaryArray.from_arrays(indices, vocab)


def _events_table(
    world: _World, ev: dict[str, np.ndarray], event_off: int, anon_off: int
) -> pa.Table:
    """Arrow table of a chunk's events with global event/anonymous ids."""
    n = len(ev["time"])
    has_anon = ev["anon"] >= 0
    has_user = ev["user"] >= 0
    return pa.table(
        {
            "event_id": id_strings("E", event_off + np.arange(n) + 1, 12),
            "anonymous_id": id_strings("A", anon_off + ev["anon"] + 1, 8, valid=has_anon),
            "user_id": _customer_ids(ev["user"], ev.get("user_dup"), valid=has_user),
            "event_type": _take_strings(world.vocab("event_types", EVENT_TYPES), ev["type"]),
            "occurred_at": iso_strings(ev["time"]),
            "page_url": _dict_strings(world.urls, ev["url"]),
            "product_id": _dict_strings(world.product_ids, ev["product"]),
            "category": _dict_strings(world.vocab("categories", CATEGORIES), ev["cat"]),
            "device_type": _dict_strings(world.vocab("devices", DEVICE_TYPES), ev["device"]),
            "channel": _dict_strings(world.vocab("channels", CHANNELS), ev["channel"]),
            "utm_source": _dict_strings(world.vocab("utm_sources", UTM_SOURCES), ev["src"]),
            "utm_medium": _dict_strings(world.vocab("utm_mediums", UTM_MEDIUMS), ev["med"]),
            "utm_campaign": _dict_strings(world.campaigns, ev["camp"]),
            "country": _dict_strings(world.vocab("countries", COUNTRIES), ev["country"]),
            "city": _dict_strings(world.cities, ev["city"]),
            "scroll_depth_pct": _scaled_array(ev["scroll"], 1.0),
            "engaged_seconds": _scaled_array(ev["engaged"], 10.0),
            "revenue": _scaled_array(ev["revenue"], 100.0),
        }
    )


def _orders_in_windows(
    orders: dict[str, np.ndarray], customer: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Count and revenue (cents) of each customer's completed orders with lo <= time < hi."""
    done = (orders["status"] == 0) & (orders["customer"] >= 0)
    key = (orders["customer"][done] << 32) + orders["time"][done]
    o = np.argsort(key, kind="stable")
    key = key[o]
    cents = np.concatenate([[0], np.cumsum(orders["total_cents"][done][o])])
    a = np.searchsorted(key, (customer << 32) + lo, side="left")
    b = np.searchsorted(key, (customer << 32) + hi, side="left")
    return b - a, cents[b] - cents[a]


def _plant_experiment_effects(
    world: _World, ch: _Chunk, rng: np.random.Generator, anon_off: int
) -> pa.Table:
    """Give the chunk's experiments known effects and return their truth, in place.

    The checkout experiment becomes multivariate (control, one_page, express, drawn evenly); a few
    units of every experiment are also assigned on a linked anonymous id to another variant
    (MULTIPLE_EXPOSURE_SHARE); and every customer unit draws, for each non-control arm, whether
    that arm would add one completed order within EXPERIMENT_ATTRIBUTION_DAYS (probability
    EXPERIMENT_EFFECTS by persona and buyer status before the assignment), which is placed only for
    the arm it got. The truth holds both potential outcomes of every customer unit: the orders and
    revenue it has in the window with the extra order of an arm and without any."""
    e, o, it = ch.experiments, ch.orders, ch.items
    window = EXPERIMENT_ATTRIBUTION_DAYS * DAY
    checkout = e["experiment"] == E_CHECKOUT
    e["variant"][checkout] = np.array([V_CONTROL, V_ONE_PAGE, V_EXPRESS])[
        rng.integers(0, 3, int(checkout.sum()))
    ]
    arms = {
        E_CHECKOUT: (V_ONE_PAGE, V_EXPRESS),
        E_FREE_SHIPPING: (V_TREATMENT,),
        E_RECO: (V_TREATMENT,),
        E_BROKEN: (V_TREATMENT,),
    }
    extra: dict[str, list[np.ndarray]] = {k: [] for k in ("time", "customer", "product")}
    units: dict[str, list[np.ndarray]] = {k: [] for k in ("row", "arm", "buyer", "placed")}
    for ex in sorted(
        arms, key=lambda x: BROKEN_SPLIT_START if x == E_BROKEN else EXPERIMENTS[x][1]
    ):
        rows = np.flatnonzero((e["experiment"] == ex) & (e["kind"] == 0))
        cust, t = e["number"][rows], e["time"][rows]
        before, _ = _orders_in_windows(o, cust, np.zeros(len(rows), np.int64), t)
        buyer = (before > 0).astype(np.int64)
        persona = ch.persona[cust - ch.c0 - 1]
        for arm in arms[ex]:
            q = EXPERIMENT_EFFECTS.get((ex, arm), np.zeros((len(CUSTOMER_PERSONAS), 2)))[
                persona, buyer
            ]
            would = rng.random(len(rows)) < q
            at = t + (rng.random(len(rows)) * window).astype(np.int64)
            product = rng.integers(0, len(world.prod_price_cents), len(rows))
            would &= at <= world.window_end
            placed = would & (e["variant"][rows] == arm)
            for key, v in (
                ("time", at[placed]),
                ("customer", cust[placed]),
                ("product", product[placed]),
            ):
                extra[key].append(v)
            for key, v in (
                ("row", rows),
                ("arm", np.full(len(rows), arm)),
                ("buyer", buyer),
                ("placed", np.where(would, product, -1)),
            ):
                units[key].append(v)
        # the orders placed so far are the next experiments' history
        _append_orders(
            o, it, world, *(np.concatenate(extra[k]) for k in ("time", "customer", "product"))
        )
        for v in extra.values():
            v.clear()

    truth = _experiment_truth(
        world, ch, {k: np.concatenate(v) for k, v in units.items()}, arms, anon_off
    )
    _plant_multiple_exposures(ch, rng)
    return truth


def _append_orders(
    o: dict[str, np.ndarray],
    it: dict[str, np.ndarray],
    world: _World,
    time: np.ndarray,
    customer: np.ndarray,
    product: np.ndarray,
) -> None:
    """Append completed one-item orders (quantity 1 at list price) to a chunk's orders, in place."""
    n0, n = len(o["time"]), len(time)
    cents = world.prod_price_cents[product].astype(np.int64)
    for key, v in (
        ("time", time),
        ("customer", customer),
        ("status", np.zeros(n, np.int64)),
        ("currency", np.zeros(n, np.int64)),
        ("total_cents", cents),
    ):
        o[key] = np.concatenate([o[key], v.astype(o[key].dtype)])
    if "dup" in o:
        o["dup"] = np.concatenate([o["dup"], np.zeros(n, bool)])
    for key, v in (
        ("order", n0 + np.arange(n)),
        ("product", product),
        ("qty", np.ones(n, np.int64)),
        ("cents", cents),
    ):
        it[key] = np.concatenate([it[key], v.astype(it[key].dtype)])


def _experiment_truth(
    world: _World,
    ch: _Chunk,
    units: dict[str, np.ndarray],
    arms: dict[int, tuple[int, ...]],
    anon_off: int,
) -> pa.Table:
    """Potential outcomes of every customer unit and arm (control included) from the final orders:
    the unit's own extra order taken out for the control outcome, put in for an arm's."""
    e, o = ch.experiments, ch.orders
    first = np.unique(units["row"], return_index=True)[1]
    rows = units["row"][first]
    cust, t = e["number"][rows], e["time"][rows]
    n_win, cents_win = _orders_in_windows(o, cust, t, t + EXPERIMENT_ATTRIBUTION_DAYS * DAY)
    # the extra order the unit got (at most one: only its own arm places one)
    got = np.zeros(len(rows), np.int64)
    got_cents = np.zeros(len(rows), np.int64)
    pos = np.searchsorted(rows, units["row"])
    mine = (units["placed"] >= 0) & (e["variant"][units["row"]] == units["arm"])
    got[pos[mine]] = 1
    got_cents[pos[mine]] = world.prod_price_cents[units["placed"][mine]]
    base_n, base_cents = n_win - got, cents_win - got_cents
    parts = [(np.arange(len(rows)), np.full(len(rows), V_CONTROL), base_n, base_cents)]
    would = units["placed"] >= 0
    parts.append(
        (
            pos,
            units["arm"],
            base_n[pos] + would,
            base_cents[pos]
            + np.where(would, world.prod_price_cents[np.maximum(units["placed"], 0)], 0),
        )
    )
    parts[0] = (*parts[0], np.zeros(len(rows), bool))
    parts[1] = (*parts[1], would)
    idx, arm, n_orders, cents, extra = (np.concatenate(x) for x in zip(*parts))
    order = np.lexsort((arm, idx))
    idx, arm, n_orders, cents, extra = (
        idx[order],
        arm[order],
        n_orders[order],
        cents[order],
        extra[order],
    )
    r = rows[idx]
    buyer = units["buyer"][first][idx]
    return pa.table(
        {
            "subject_id": id_strings("C", cust[idx], 7),
            "experiment_id": _take_strings(EXPERIMENT_IDS, e["experiment"][r]),
            "assigned_variant": _take_strings(VARIANTS, e["variant"][r]),
            "assigned_at": iso_strings(e["time"][r]),
            "persona": _take_strings(PERSONAS, ch.persona[cust[idx] - ch.c0 - 1]),
            "buyer_status": _take_strings(("prospect", "returning_buyer"), buyer),
            "window_complete": pa.array(
                e["time"][r] + EXPERIMENT_ATTRIBUTION_DAYS * DAY - 1 <= world.window_end
            ),
            "potential_variant": _take_strings(VARIANTS, arm),
            # the arm's extra order is in this outcome (placed where potential = assigned variant:
            # an order with no visit, as from the app or the phone, so no purchase event)
            "has_extra_order": pa.array(extra),
            "converted": pa.array(n_orders > 0),
            "revenue": pa.array(cents / 100.0, pa.float64()),
        }
    )


def _plant_multiple_exposures(ch: _Chunk, rng: np.random.Generator) -> None:
    """Assign MULTIPLE_EXPOSURE_SHARE of each experiment's customer units a second time, to another
    variant, on one of the customer's anonymous device ids, a little before the first assignment."""
    e, links = ch.experiments, ch.device_links
    order = np.argsort(links["customer"], kind="stable")
    link_cust, link_anon = links["customer"][order], links["anon"][order]
    added = []
    for ex, share in MULTIPLE_EXPOSURE_SHARE.items():
        rows = np.flatnonzero((e["experiment"] == ex) & (e["kind"] == 0))
        at = np.searchsorted(link_cust, e["number"][rows])
        has = (at < len(link_cust)) & (
            link_cust[np.minimum(at, len(link_cust) - 1)] == e["number"][rows]
        )
        rows, at = rows[has], at[has]
        pick = rng.random(len(rows)) < share
        rows, at = rows[pick], at[pick]
        variants = np.unique(e["variant"][e["experiment"] == ex])
        other = variants[(np.searchsorted(variants, e["variant"][rows]) + 1) % len(variants)]
        added.append(
            (
                np.ones(len(rows), np.int64),
                link_anon[at].astype(np.int64),
                np.full(len(rows), ex),
                other,
                e["time"][rows] - rng.integers(600, 3 * DAY, len(rows)),
            )
        )
    for i, key in enumerate(("kind", "number", "experiment", "variant", "time")):
        e[key] = np.concatenate([e[key], *(a[i].astype(e[key].dtype) for a in added)])
    o = np.argsort(e["time"], kind="stable")
    for key in e:
        e[key] = e[key][o]


def _drift_table(drift_from: date) -> pa.Table:
    """Ground truth of the drift option: the customer_features the clustering uses that DRIFT
    shifts from ``drift_from`` on (one row each, with the change)."""
    changes = {
        "night_session_share": f"{DRIFT.night_share:.0%} of the visits at 00-03 UTC",
        "products_per_session": f"+{DRIFT.extra_products:g} products viewed per visit",
    }
    return pa.table(
        {
            "feature": pa.array(list(DRIFT.shifted_features), pa.string()),
            "drift_from": pa.array([drift_from] * len(DRIFT.shifted_features), pa.date32()),
            "change": pa.array([changes[f] for f in DRIFT.shifted_features], pa.string()),
        }
    )


def _experiment_effects_table() -> pa.Table:
    """Ground truth: the planted effects (EXPERIMENT_EFFECTS), one row per experiment, arm, persona
    and buyer status, every arm of every experiment included (zero where nothing is planted)."""
    arms = (
        (E_CHECKOUT, V_ONE_PAGE),
        (E_CHECKOUT, V_EXPRESS),
        (E_FREE_SHIPPING, V_TREATMENT),
        (E_RECO, V_TREATMENT),
        (E_BROKEN, V_TREATMENT),
    )
    rows = [
        (
            EXPERIMENT_IDS[ex],
            VARIANTS[arm],
            CUSTOMER_PERSONAS[p],
            ("prospect", "returning_buyer")[b],
            float(EXPERIMENT_EFFECTS.get((ex, arm), np.zeros((len(CUSTOMER_PERSONAS), 2)))[p, b]),
        )
        for ex, arm in arms
        for p in range(len(CUSTOMER_PERSONAS))
        for b in (0, 1)
    ]
    names = ("experiment_id", "variant", "persona", "buyer_status", "extra_order_probability")
    return pa.table({name: [r[i] for r in rows] for i, name in enumerate(names)})


def _orders_tables(world: _World, ch: _Chunk, order_off: int) -> tuple[pa.Table, pa.Table]:
    """Arrow tables for a chunk's orders and order items."""
    o, it = ch.orders, ch.items
    n = len(o["time"])
    orders = pa.table(
        {
            "order_id": id_strings("O", order_off + np.arange(n) + 1, 8),
            "customer_id": _customer_ids(o["customer"], o.get("dup"), valid=o["customer"] >= 0),
            "ordered_at": iso_strings(o["time"]),
            "status": _take_strings(world.vocab("statuses", ORDER_STATUSES), o["status"]),
            "currency": _take_strings(world.vocab("currencies", CURRENCIES), o["currency"]),
            "total_amount": pa.array(o["total_cents"] / 100.0, pa.float64()),
        }
    )
    items = pa.table(
        {
            "order_id": id_strings("O", order_off + it["order"] + 1, 8),
            "product_id": id_strings("P", it["product"] + 1, 4),
            "quantity": pa.array(it["qty"], pa.int64()),
            "unit_price": pa.array(it["cents"] / 100.0, pa.float64()),
        }
    )
    return orders, items


def _customers_table(world: _World, c: dict[str, np.ndarray]) -> pa.Table:
    """Arrow table of a chunk's customers."""
    n = len(c["number"])
    first = _take_strings(FIRST_NAMES, c["first"])
    last = _take_strings(LAST_NAMES, c["last"])
    num = pc.cast(pa.array(c["number"]), pa.string())
    local = pc.binary_join_element_wise(first, last, num, ".")
    email = pc.binary_join_element_wise(local, _take_strings(EMAIL_DOMAIN_VOCAB, c["domain"]), "@")
    if "email_override" in c:  # planted shared addresses (role, reserved domain)
        email = pc.coalesce(pa.array(c["email_override"], pa.string()), email)
    phone = phone_strings(c["phone"], c["country"], c.get("phone_variant"))
    phone = pc.if_else(pa.array(c["phone_ok"]), phone, pa.scalar(None, pa.string()))
    style = POSTAL_STYLE[c["country"]]
    digits5 = id_strings("", c["postal"], 5)
    digits4 = id_strings("", c["postal"] % 10_000, 4)
    alpha = np.empty((n, 7), np.uint8)  # 'A9A 9A9' (Canada / UK-like)
    alpha[:, 0] = 65 + c["postal_alpha"][:, 0]
    alpha[:, 1] = 48 + c["postal"] % 10
    alpha[:, 2] = 65 + c["postal_alpha"][:, 1]
    alpha[:, 3] = 32
    alpha[:, 4] = 48 + (c["postal"] // 10) % 10
    alpha[:, 5] = 65 + c["postal_alpha"][:, 2]
    alpha[:, 6] = 48 + (c["postal"] // 100) % 10
    postal = pc.if_else(
        pa.array(style == 5),
        digits5,
        pc.if_else(pa.array(style == 4), digits4, _fixed_width_strings(alpha)),
    )
    postal = pc.if_else(pa.array(c["postal_ok"]), postal, pa.scalar(None, pa.string()))
    return pa.table(
        {
            "customer_id": id_strings("C", c["number"], 7),
            "email": email,
            "phone": phone,
            "signup_at": iso_strings(c["signup"]),
            "birth_year": _int_array(c["birth_year"], c["birth_ok"]),
            "gender": _take_strings(GENDERS, c["gender"]),
            "country": _take_strings(COUNTRIES, c["country"]),
            "city": _take_strings(world.cities, c["city"]),
            "postal_code": postal,
            "loyalty_tier": _take_strings(LOYALTY_TIERS, c["loyalty"]),
            "acquisition_channel": _take_strings(CHANNELS, c["acq"]),
        }
    )


def _consents_table(c: dict[str, np.ndarray], anon_off: int) -> pa.Table:
    """Arrow table of consent records (customer- and device-level)."""
    number = np.where(c["kind"] == 1, anon_off + c["number"] + 1, c["number"])
    return pa.table(
        {
            "subject_id": _subject_strings(c["kind"], number),
            "purpose": _take_strings(PURPOSES, c["purpose"]),
            "granted": pa.array(c["granted"].astype(bool), pa.bool_()),
            "recorded_at": iso_strings(c["time"]),
            "region": _take_strings(REGIONS, c["region"]),
        }
    )


def _surveys_table(s: dict[str, np.ndarray]) -> pa.Table:
    """Arrow table of survey answers."""
    return pa.table(
        {
            "customer_id": id_strings("C", s["customer"], 7),
            "question": _take_strings(("interests", "values"), s["question"]),
            "answer": _take_strings(INTERESTS + VALUES, s["answer"]),
            "responded_at": iso_strings(s["time"]),
        }
    )


def _experiments_table(e: dict[str, np.ndarray], anon_off: int) -> pa.Table:
    """Arrow table of experiment assignments."""
    number = np.where(e["kind"] == 1, anon_off + e["number"] + 1, e["number"])
    return pa.table(
        {
            "subject_id": _subject_strings(e["kind"], number),
            "experiment_id": _take_strings(EXPERIMENT_IDS, e["experiment"]),
            "variant": _take_strings(VARIANTS, e["variant"]),
            "assigned_at": iso_strings(e["time"]),
        }
    )


def _personas_table(ch: _Chunk, anon_off: int) -> pa.Table:
    """Ground-truth personas of a chunk (customers, then anonymous visitors)."""
    nc, na = ch.nc, ch.na
    kind = np.concatenate([np.zeros(nc, np.int64), np.ones(na, np.int64)])
    number = np.concatenate([ch.c0 + np.arange(nc) + 1, anon_off + ch.anon_local_of_visitor + 1])
    return pa.table(
        {
            "subject_id": _subject_strings(kind, number),
            "subject_type": _take_strings(("customer", "anonymous"), kind),
            "persona": _take_strings(PERSONAS, ch.persona),
        }
    )


def _links_table(ch: _Chunk, anon_off: int) -> pa.Table:
    """Ground truth: which customer each customer device (anonymous id seen in events) belongs to."""
    links = ch.device_links
    return pa.table(
        {
            "anonymous_id": id_strings("A", anon_off + links["anon"] + 1, 8),
            "customer_id": id_strings("C", links["customer"], 7),
            "device_type": _take_strings(DEVICE_TYPES, links["device"]),
        }
    )


def _products_table(world: _World) -> pa.Table:
    """Arrow table of the product catalogue."""
    n = len(world.prod_cat)
    return pa.table(
        {
            "product_id": id_strings("P", np.arange(n) + 1, 4),
            "category": _take_strings(CATEGORIES, world.prod_cat),
            "subcategory": pa.array(world.prod_sub, pa.string()),
            "brand": pa.array(world.prod_brand, pa.string()),
            "price": pa.array(world.prod_price_cents / 100.0, pa.float64()),
        }
    )


# --------------------------------------------------------------------------- #
# Planted identity cases and outliers (ground truth for identity and outlier checks)
# --------------------------------------------------------------------------- #

DUPLICATES_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("original_customer_id", pa.string()),
        ("kind", pa.string()),
        ("expected", pa.string()),
        ("moved_order_count", pa.int64()),
    ]
)
NEAR_MISSES_SCHEMA = pa.schema(
    [("group_id", pa.string()), ("customer_id", pa.string()), ("kind", pa.string())]
)
INTERNAL_SCHEMA = pa.schema(
    [
        ("kind", pa.string()),
        ("customer_id", pa.string()),
        ("order_id", pa.string()),
        ("total_amount", pa.float64()),
    ]
)
OUTLIERS_SCHEMA = pa.schema(
    [
        ("table", pa.string()),
        ("event_id", pa.string()),
        ("order_id", pa.string()),
        ("product_id", pa.string()),
        ("customer_id", pa.string()),
        ("column_name", pa.string()),
        ("value", pa.float64()),
        ("kind", pa.string()),
        ("is_derived", pa.bool_()),
    ]
)


def planted_totals(cfg: GeneratorConfig) -> dict[str, int]:
    """How many cases of each sort a run plants (the chunks share them out by their customers):
    duplicates, near-miss groups per kind, internal accounts, and outliers per outlier kind."""
    n = cfg.customers
    groups = {
        "family_same_address": max(2, round(n / 250)),
        "office_switchboard": max(2, round(n / 4_000)),
        "role_address": max(2, round(n / 4_000)),
        "reserved_domain": max(1, round(n / 10_000)),
    }
    return {
        "duplicates": int(round(cfg.crm_duplicate_rate * n)),
        **{kind: count if cfg.near_misses else 0 for kind, count in groups.items()},
        "internal_accounts": max(3, round(n / 2_000)) if cfg.internal_accounts else 0,
        "outliers_per_kind": max(2, round(n / 3_000)) if cfg.outliers else 0,
    }


def _share(total: int, c0: int, nc: int, customers: int) -> int:
    """A chunk's part of ``total`` planted cases, in proportion to its customers."""
    return (total * (c0 + nc)) // customers - (total * c0) // customers


@dataclass
class _PlantState:
    """Planted cases across chunks: counters that make kinds and group numbers global (not per
    chunk), and what each chunk adds to the tables and to the ground truth."""

    totals: dict[str, int]
    excluded: np.ndarray  # customer numbers never planted (they ask for deletion)
    duplicates_seen: int = 0
    groups_seen: dict[str, int] = field(default_factory=lambda: dict.fromkeys(NEAR_MISS_KINDS, 0))
    duplicate_customers: list[pa.Table] = field(default_factory=list)
    duplicate_personas: list[pa.Table] = field(default_factory=list)
    duplicates: list[pa.Table] = field(default_factory=list)
    near_misses: list[pa.Table] = field(default_factory=list)
    internal: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)  # numbers, signups
    outliers: list[pa.Table] = field(default_factory=list)


def _plant_identity(
    cfg: GeneratorConfig, world: _World, ch: _Chunk, rng: np.random.Generator, state: _PlantState
) -> np.ndarray:
    """Plant a chunk's CRM duplicates, internal accounts and near-miss groups: edits the chunk's
    customers, orders and events in place and adds the duplicates' records and the truth to
    ``state``. Returns the customers it touched (a mask over the chunk's customers)."""
    c, nc, c0 = ch.customers, ch.nc, ch.c0
    free = np.ones(nc, bool)
    free[state.excluded[(state.excluded > c0) & (state.excluded <= c0 + nc)] - c0 - 1] = False
    touched = np.zeros(nc, bool)
    order = rng.permutation(nc)

    def take(
        count: int, eligible: np.ndarray | None = None, prefer: np.ndarray | None = None
    ) -> np.ndarray:
        ok = free[order] if eligible is None else free[order] & eligible[order]
        candidates = order[ok]
        if prefer is not None:  # the preferred ones first, each part in random order
            candidates = np.concatenate(
                [candidates[prefer[candidates]], candidates[~prefer[candidates]]]
            )
        got = candidates[: max(count, 0)]
        free[got] = False
        touched[got] = True
        return got

    # --- originals of the duplicates, by kind (the Gmail kinds need a Gmail address, plus_tag a
    # provider that ignores '+tags': when too few are left, other customers get a Gmail address).
    # Customers with orders first: a duplicate is mostly a guest checkout, and it takes orders.
    buyers = np.zeros(nc, bool)
    bought = ch.orders["customer"][ch.orders["customer"] >= 0] - c0 - 1
    buyers[bought] = True
    n_dup = _share(state.totals["duplicates"], c0, nc, cfg.customers)
    wanted = (state.duplicates_seen + np.arange(n_dup)) % len(DUPLICATE_KINDS)
    state.duplicates_seen += n_dup
    gmail = c["domain"] == GMAIL_CODE
    plus = np.isin(c["domain"], PLUS_TAG_CODES)
    # example.org is a reserved test domain (seed identity_email_domains): its addresses never
    # link, so an e-mail-case twin needs an address at a real provider
    linkable = c["domain"] != EMAIL_DOMAINS.index("example.org")
    picked, picked_kind = [], []
    for k, kind in enumerate(DUPLICATE_KINDS):
        want = int(np.count_nonzero(wanted == k))
        eligible = (
            gmail
            if kind in ("gmail_dots", "googlemail")
            else plus
            if kind == "plus_tag"
            else linkable
            if kind == "email_case"
            else None
        )
        got = take(want, eligible, buyers)
        if len(got) < want and eligible is not None:
            more = take(want - len(got), None, buyers)
            c["domain"][more] = GMAIL_CODE
            got = np.concatenate([got, more])
        picked.append(got)
        picked_kind.append(np.full(len(got), k, np.int64))
    originals = np.concatenate(picked)
    by_number = np.argsort(originals, kind="stable")
    originals, kinds = originals[by_number], np.concatenate(picked_kind)[by_number]
    is_phone = kinds == DUPLICATE_KINDS.index("phone_format")
    c["phone_ok"][originals[is_phone]] = True  # the phone is the evidence: the original has one
    weak = originals[kinds == DUPLICATE_KINDS.index("weak_evidence")]
    c["postal_ok"][weak] = True  # the weak evidence is there to be found
    c["birth_ok"][weak] = True
    c["gender"][weak] = np.where(
        c["gender"][weak] < 0, rng.integers(0, 2, len(weak)), c["gender"][weak]
    )

    # --- internal (staff) accounts: the shop's own domain
    internal = np.sort(take(_share(state.totals["internal_accounts"], c0, nc, cfg.customers)))
    c["domain"][internal] = INTERNAL_DOMAIN_CODE
    state.internal.append((c["number"][internal], c["signup"][internal]))

    _plant_near_misses(cfg, ch, rng, state, take, free)
    _plant_duplicates(cfg, world, ch, rng, state, originals, kinds)
    return touched


def _plant_near_misses(
    cfg: GeneratorConfig,
    ch: _Chunk,
    rng: np.random.Generator,
    state: _PlantState,
    take: Callable[..., np.ndarray],
    free: np.ndarray,
) -> None:
    """Edit groups of a chunk's free customers into look-alikes (NEAR_MISS_KINDS), one group of
    each kind per round so that a small chunk (NEAR_MISS_MAX_SHARE) still gets every kind."""
    c, nc, c0 = ch.customers, ch.nc, ch.c0
    want = {kind: _share(state.totals[kind], c0, nc, cfg.customers) for kind in NEAR_MISS_KINDS}
    if not any(want.values()):
        return
    c.setdefault("email_override", np.full(nc, None, object))
    c.setdefault("phone_variant", np.full(nc, -1, np.int64))
    budget = int(NEAR_MISS_MAX_SHARE * nc)
    group_ids: list[str] = []
    members_all: list[np.ndarray] = []
    kinds: list[str] = []
    for rnd in range(max(want.values())):
        for kind in NEAR_MISS_KINDS:
            if rnd >= want[kind]:
                continue
            lo, hi = NEAR_MISS_SIZES[kind]
            size = int(rng.integers(lo, hi + 1))
            if size > budget:
                continue
            if kind in ("family_same_address", "office_switchboard"):  # one country (phone codes)
                per_country = np.bincount(c["country"][free], minlength=len(COUNTRIES))
                countries = np.flatnonzero(per_country >= size)
                if len(countries) == 0:
                    continue
                head = take(1, np.isin(c["country"], countries))
                members = np.concatenate(
                    [head, take(size - 1, c["country"] == c["country"][head[0]])]
                )
            elif np.count_nonzero(free) >= size:
                members = take(size)
            else:
                continue
            budget -= size
            g = state.groups_seen[kind]
            state.groups_seen[kind] += 1
            if kind == "family_same_address":
                head, rest = members[0], members[1:]
                for key in ("last", "city", "postal", "postal_alpha"):
                    c[key][rest] = c[key][head]
                c["postal_ok"][members] = True
                c["birth_ok"][members] = True
                years = c["birth_year"][head] + FAMILY_BIRTH_OFFSETS
                years = years[(years >= 1940) & (years <= 2008)]
                c["birth_year"][rest] = rng.choice(years, size=len(rest), replace=False)
            elif kind == "office_switchboard":
                c["phone"][members] = OFFICE_PHONE_BASE + (g * 7_919 + 52_817) % OFFICE_PHONE_SPAN
                c["phone_ok"][members] = True
                c["phone_variant"][members] = (
                    np.arange(len(members)) - 1
                )  # as stored, then 4 others
            else:
                if kind == "role_address":
                    suffix = g // (len(ROLE_LOCAL_PARTS) * len(COMPANY_NAMES))
                    company = COMPANY_NAMES[(g // len(ROLE_LOCAL_PARTS)) % len(COMPANY_NAMES)]
                    address = (
                        f"{ROLE_LOCAL_PARTS[g % len(ROLE_LOCAL_PARTS)]}@{company}{suffix or ''}.com"
                    )
                else:
                    local, domain = RESERVED_ADDRESSES[g % len(RESERVED_ADDRESSES)].split("@")
                    suffix = g // len(RESERVED_ADDRESSES)
                    address = f"{local}{suffix or ''}@{domain}"
                c["email_override"][members] = _written_variants(address, len(members))
            members = np.sort(members)
            members_all.append(members)
            group_ids.extend([f"{kind}_{g + 1:04d}"] * len(members))
            kinds.extend([kind] * len(members))
    if members_all:
        numbers = c["number"][np.concatenate(members_all)]
        state.near_misses.append(
            pa.table(
                {
                    "group_id": pa.array(group_ids, pa.string()),
                    "customer_id": id_strings("C", numbers, 7),
                    "kind": pa.array(kinds, pa.string()),
                },
                schema=NEAR_MISSES_SCHEMA,
            )
        )


def _written_variants(address: str, n: int) -> list[str]:
    """``n`` ways a shared address is typed: as is, capitalised, with spaces, upper case."""
    variants = (address, address.capitalize(), f" {address} ", address.upper())
    return [variants[i % len(variants)] for i in range(n)]


def _plant_duplicates(
    cfg: GeneratorConfig,
    world: _World,
    ch: _Chunk,
    rng: np.random.Generator,
    state: _PlantState,
    originals: np.ndarray,
    kinds: np.ndarray,
) -> None:
    """A second customer record (``G`` + the digits) for each original: the same person's
    attributes and one kind of variation; half of the original's orders move to it."""
    c, o, ev = ch.customers, ch.orders, ch.events
    n, nc = len(originals), ch.nc
    if n == 0:
        return
    # orders: each of an original's orders moves with DUPLICATE_ORDER_SHARE; the purchase event
    # moves with it as the shop's server records a guest checkout: the duplicate's user id, no
    # device (a device seen with both ids would link them outside the CRM rules)
    n_orders = len(o["time"])
    duplicate_of = np.full(nc, -1, np.int64)
    duplicate_of[originals] = np.arange(n)
    owner = np.where(
        o["customer"] >= 0, duplicate_of[np.clip(o["customer"] - ch.c0 - 1, 0, nc - 1)], -1
    )
    moved = (owner >= 0) & (rng.random(n_orders) < DUPLICATE_ORDER_SHARE)
    o["dup"] = moved
    events = _event_of_order(ch)[moved]
    ev["user_dup"] = np.zeros(len(ev["time"]), bool)
    ev["user_dup"][events] = True
    ev["anon"][events] = -1
    ev["device"][events] = -1
    moved_count = np.bincount(owner[moved], minlength=n).astype(np.int64)
    first_moved = np.full(n, BIG_TS, np.int64)
    np.minimum.at(first_moved, owner[moved], o["time"][moved])

    # the record: created just before its first order, else at a time in the active days
    signup = c["signup"][originals]
    active_end = min(world.window_end, world.window_start + cfg.days * DAY - 1)
    lo = np.maximum(signup, world.window_start)
    hi = np.maximum(lo, active_end)
    later = lo + (rng.random(n) * (hi - lo + 1)).astype(np.int64)
    before_order = np.maximum(signup, first_moved - rng.integers(60, 3_600, n))
    is_phone = kinds == DUPLICATE_KINDS.index("phone_format")
    record = {key: value[originals].copy() for key, value in c.items() if key != "email_override"}
    record["signup"] = np.where(first_moved < BIG_TS, before_order, later)
    record["phone_ok"] = is_phone  # the e-mail kinds carry no phone: one rule per kind
    record["phone_variant"] = np.where(is_phone, rng.integers(0, 4, n), -1)
    record["loyalty"][:] = -1  # a guest record: no loyalty tier, no acquisition channel
    record["acq"][:] = -1
    emails = _duplicate_emails(record, kinds, rng)
    table = _customers_table(world, record)
    ids = id_strings(DUPLICATE_PREFIX, record["number"], 7)
    table = table.set_column(0, "customer_id", ids).set_column(1, "email", emails)
    state.duplicate_customers.append(table)
    state.duplicate_personas.append(
        pa.table(
            {
                "subject_id": ids,
                "subject_type": _repeat_string("customer", n),
                "persona": _take_strings(PERSONAS, ch.persona[originals]),
            }
        )
    )
    state.duplicates.append(
        pa.table(
            {
                "customer_id": ids,
                "original_customer_id": id_strings("C", record["number"], 7),
                "kind": _take_strings(DUPLICATE_KINDS, kinds),
                "expected": _take_strings(
                    tuple(DUPLICATE_EXPECTED[k] for k in DUPLICATE_KINDS), kinds
                ),
                "moved_order_count": pa.array(moved_count, pa.int64()),
            },
            schema=DUPLICATES_SCHEMA,
        )
    )


def _event_of_order(ch: _Chunk) -> np.ndarray:
    """Index of each order's purchase event in the chunk's events."""
    ev = ch.events
    out = np.full(len(ch.orders["time"]), -1, np.int64)
    purchase = np.flatnonzero(ev["order"] >= 0)
    out[ev["order"][purchase]] = purchase
    return out


def _duplicate_emails(
    record: dict[str, np.ndarray], kinds: np.ndarray, rng: np.random.Generator
) -> pa.Array:
    """The duplicate's e-mail for each kind (see DUPLICATE_KINDS), from the original's parts
    (``first.last.number@domain``)."""
    n = len(kinds)
    if n == 0:
        return pa.array([], pa.string())
    join = pc.binary_join_element_wise

    def pick(values: list[pa.Array], codes: np.ndarray) -> pa.Array:
        return pc.choose(pa.array(np.asarray(codes, np.int8)), *values)

    first = _take_strings(FIRST_NAMES, record["first"])
    last = _take_strings(LAST_NAMES, record["last"])
    num = pc.cast(pa.array(record["number"]), pa.string())
    domain = _take_strings(EMAIL_DOMAIN_VOCAB, record["domain"])
    local = join(first, last, num, ".")
    original = join(local, domain, "@")
    initial, rest = pc.utf8_slice_codeunits(first, 0, 1), pc.utf8_slice_codeunits(first, 1)
    recased = pick(
        [pc.utf8_capitalize(original), pc.utf8_title(original), pc.utf8_upper(original)],
        rng.integers(0, 3, n),
    )
    email_case = pick(
        [join(" ", recased, ""), join(recased, " ", ""), join(" ", recased, "  ", "")],
        rng.integers(0, 3, n),
    )
    dotted = pick(
        [
            join(first, last, num, ""),
            join(join(first, last, "."), num, ""),
            join(initial, rest, last, num, "."),
        ],
        rng.integers(0, 3, n),
    )
    gmail_dots = join(dotted, domain, "@")
    plus_tag = join(
        join(local, _take_strings(PLUS_TAGS, rng.integers(0, len(PLUS_TAGS), n)), "+"), domain, "@"
    )
    googlemail = join(
        local,
        pick(
            [_repeat_string("googlemail.com", n), _repeat_string("GoogleMail.com", n)],
            rng.integers(0, 2, n),
        ),
        "@",
    )
    work = join(
        join(initial, last, num, ""),
        _take_strings(WORK_DOMAINS, rng.integers(0, len(WORK_DOMAINS), n)),
        "@",
    )
    other = _take_strings(OTHER_PERSONAL_DOMAINS, rng.integers(0, len(OTHER_PERSONAL_DOMAINS), n))
    weak = join(join(last, join(first, num, ""), "."), other, "@")
    return pick([email_case, gmail_dots, plus_tag, googlemail, work, weak], kinds)


def _plant_outliers(
    cfg: GeneratorConfig,
    ch: _Chunk,
    rng: np.random.Generator,
    state: _PlantState,
    touched: np.ndarray,
) -> dict[str, list]:
    """Plant a chunk's outliers (OUTLIER_KINDS) on completed orders and events of customers the
    identity cases left alone; edits the chunk in place and returns, per table, the planted
    cells as (local row, column, value, kind, is_derived) arrays."""
    o, it, ev = ch.orders, ch.items, ch.events
    nc, c0 = ch.nc, ch.c0
    n = _share(state.totals["outliers_per_kind"], c0, nc, cfg.customers)
    cells: dict[str, list] = {"orders": [], "order_items": [], "events": []}
    if n == 0:
        return cells
    n_orders = len(o["time"])
    plain = ~touched[np.clip(o["customer"] - c0 - 1, 0, nc - 1)] & ~o.get(
        "dup", np.zeros(n_orders, bool)
    )
    eligible = (o["customer"] >= 0) & (o["status"] == 0) & plain
    perm = rng.permutation(n_orders)
    candidates = perm[eligible[perm]]
    event_of = _event_of_order(ch)
    first_item = np.searchsorted(it["order"], np.arange(n_orders))  # items are grouped by order

    def add(
        table: str, rows: np.ndarray, column: str, values: np.ndarray, kind: str, derived: bool
    ) -> None:
        cells[table].append((rows, column, np.asarray(values, np.float64), kind, derived))

    for k, kind in enumerate(OUTLIER_KINDS[:4]):  # the order kinds: disjoint orders
        j = candidates[k * n : (k + 1) * n]
        e = event_of[j]
        if kind == "extreme_order_total":
            o["total_cents"][j] = OUTLIER_ORDER_TOTALS_CENTS[
                rng.integers(0, len(OUTLIER_ORDER_TOTALS_CENTS), len(j))
            ]
            ev["revenue"][e] = o["total_cents"][j]
            add("orders", j, "total_amount", o["total_cents"][j] / 100.0, kind, False)
            add("events", e, "revenue", ev["revenue"][e] / 100.0, kind, True)
        elif kind in ("extreme_quantity", "extreme_unit_price"):
            i = first_item[j]
            if kind == "extreme_quantity":
                qty = OUTLIER_QUANTITIES[rng.integers(0, len(OUTLIER_QUANTITIES), len(j))]
                o["total_cents"][j] += (qty - it["qty"][i]) * it["cents"][i]
                it["qty"][i] = qty
                add("order_items", i, "quantity", qty, kind, False)
            else:
                cents = OUTLIER_UNIT_PRICES_CENTS[
                    rng.integers(0, len(OUTLIER_UNIT_PRICES_CENTS), len(j))
                ]
                o["total_cents"][j] += it["qty"][i] * (cents - it["cents"][i])
                it["cents"][i] = cents
                add("order_items", i, "unit_price", cents / 100.0, kind, False)
            ev["revenue"][e] = o["total_cents"][j]
            add("orders", j, "total_amount", o["total_cents"][j] / 100.0, kind, True)
            add("events", e, "revenue", ev["revenue"][e] / 100.0, kind, True)
        else:  # event_revenue_in_cents: the tracker sent cents, the order is right
            ev["revenue"][e] = o["total_cents"][j] * 100
            add("events", e, "revenue", ev["revenue"][e] / 100.0, kind, False)

    user = ev["user"].astype(np.int64)
    engaged_ok = (ev["engaged"] >= 0) & (user >= 0) & ~ev.get("user_dup", np.zeros(len(user), bool))
    engaged_ok &= ~touched[np.clip(user - c0 - 1, 0, nc - 1)]
    perm = rng.permutation(len(user))
    e = np.sort(perm[engaged_ok[perm]][:n])
    ev["engaged"][e] = OUTLIER_ENGAGED_TENTHS
    add("events", e, "engaged_seconds", ev["engaged"][e] / 10.0, "extreme_engaged_seconds", False)
    return cells


def _outlier_truth(ch: _Chunk, cells: dict[str, list], event_off: int, order_off: int) -> pa.Table:
    """The planted outlier cells of a chunk with their global keys (OUTLIERS_SCHEMA)."""
    o, it, ev = ch.orders, ch.items, ch.events
    parts: list[pa.Table] = []
    for table, entries in cells.items():
        for rows, column, values, kind, derived in entries:
            m = len(rows)
            if m == 0:
                continue
            none = pa.nulls(m, pa.string())
            if table == "events":
                keys = {
                    "event_id": id_strings("E", event_off + rows + 1, 12),
                    "order_id": none,
                    "product_id": none,
                }
                customer = ev["user"][rows]
            elif table == "orders":
                keys = {
                    "event_id": none,
                    "order_id": id_strings("O", order_off + rows + 1, 8),
                    "product_id": none,
                }
                customer = o["customer"][rows]
            else:
                keys = {
                    "event_id": none,
                    "order_id": id_strings("O", order_off + it["order"][rows] + 1, 8),
                    "product_id": id_strings("P", it["product"][rows] + 1, 4),
                }
                customer = o["customer"][it["order"][rows]]
            parts.append(
                pa.table(
                    {
                        "table": _repeat_string(table, m),
                        **keys,
                        "customer_id": id_strings("C", customer, 7),
                        "column_name": _repeat_string(column, m),
                        "value": pa.array(values, pa.float64()),
                        "kind": _repeat_string(kind, m),
                        "is_derived": pa.array(np.full(m, derived), pa.bool_()),
                    },
                    schema=OUTLIERS_SCHEMA,
                )
            )
    return pa.concat_tables(parts) if parts else OUTLIERS_SCHEMA.empty_table()


def _test_orders(
    cfg: GeneratorConfig, world: _World, state: _PlantState
) -> tuple[pa.Table, pa.Table]:
    """TEST_ORDERS_PER_ACCOUNT test orders of each internal account (ids ``TEST-000001``, ...),
    one line each, at absurd totals; at a time after the account's signup in the active days."""
    numbers = (
        np.concatenate([num for num, _ in state.internal])
        if state.internal
        else np.zeros(0, np.int64)
    )
    signups = (
        np.concatenate([t for _, t in state.internal]) if state.internal else np.zeros(0, np.int64)
    )
    rng = _rng(cfg.seed, 8)
    n = len(numbers) * TEST_ORDERS_PER_ACCOUNT
    who = np.repeat(np.arange(len(numbers)), TEST_ORDERS_PER_ACCOUNT)
    active_end = min(world.window_end, world.window_start + cfg.days * DAY - 1)
    lo = np.maximum(signups[who], world.window_start)
    t = lo + (rng.random(n) * np.maximum(active_end - lo + 1, 1)).astype(np.int64)
    t = np.minimum(t, world.window_end)
    cents = TEST_ORDER_TOTALS_CENTS[rng.integers(0, len(TEST_ORDER_TOTALS_CENTS), n)]
    status = np.where(rng.random(n) < 0.75, 0, 1)  # completed, some cancelled
    product = rng.integers(0, len(world.prod_cat), n)
    ids = id_strings(TEST_ORDER_PREFIX, np.arange(n) + 1, 6)
    orders = pa.table(
        {
            "order_id": ids,
            "customer_id": id_strings("C", numbers[who], 7),
            "ordered_at": iso_strings(t),
            "status": _take_strings(ORDER_STATUSES, status),
            "currency": _take_strings(CURRENCIES, np.zeros(n, np.int64)),
            "total_amount": pa.array(cents / 100.0, pa.float64()),
        }
    )
    items = pa.table(
        {
            "order_id": ids,
            "product_id": id_strings("P", product + 1, 4),
            "quantity": pa.array(np.ones(n, np.int64), pa.int64()),
            "unit_price": pa.array(cents / 100.0, pa.float64()),
        }
    )
    return orders, items


def _internal_truth(state: _PlantState, test_orders: pa.Table) -> pa.Table:
    """internal_accounts.parquet: the staff accounts and their test orders (INTERNAL_SCHEMA)."""
    numbers = (
        np.sort(np.concatenate([num for num, _ in state.internal]))
        if state.internal
        else np.zeros(0, np.int64)
    )
    m = len(numbers)
    accounts = pa.table(
        {
            "kind": _repeat_string("internal_account", m),
            "customer_id": id_strings("C", numbers, 7),
            "order_id": pa.nulls(m, pa.string()),
            "total_amount": pa.nulls(m, pa.float64()),
        },
        schema=INTERNAL_SCHEMA,
    )
    orders = pa.table(
        {
            "kind": _repeat_string("test_order", test_orders.num_rows),
            "customer_id": test_orders.column("customer_id"),
            "order_id": test_orders.column("order_id"),
            "total_amount": test_orders.column("total_amount"),
        },
        schema=INTERNAL_SCHEMA,
    )
    return pa.concat_tables([accounts, orders])


def _duplicate_ids_of(customer_ids: pa.Array) -> pa.Array:
    """The duplicate-record ids (DUPLICATE_PREFIX + the digits) of ``C`` customer ids."""
    return pc.utf8_replace_slice(customer_ids, 0, 1, DUPLICATE_PREFIX)


def _is_in(table: pa.Table, column: str, values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Mask of the rows of ``table`` whose ``column`` is one of ``values``."""
    value_set = pa.chunked_array([values]).combine_chunks()
    return pc.fill_null(pc.is_in(table.column(column), value_set=value_set), False).to_numpy(
        zero_copy_only=False
    )


def _planted_truth(
    plant: _PlantState, test_orders: pa.Table, small: dict[str, list[pa.Table]]
) -> dict[str, pa.Table]:
    """The planted cases' truth tables, restricted to the rows the run holds (before dirt):
    crm_duplicates, crm_near_misses, internal_accounts and outliers, each in a fixed order."""

    def concat(parts: list[pa.Table], schema: pa.Schema) -> pa.Table:
        return pa.concat_tables(parts).combine_chunks() if parts else schema.empty_table()

    customers = pa.concat_tables(small["customers"]).column("customer_id").combine_chunks()
    orders = pa.concat_tables(small["orders"])
    order_ids = orders.column("order_id").combine_chunks()

    duplicates = concat(plant.duplicates, DUPLICATES_SCHEMA)
    duplicates = duplicates.filter(
        pc.and_(
            pc.is_in(duplicates.column("customer_id"), value_set=customers),
            pc.is_in(duplicates.column("original_customer_id"), value_set=customers),
        )
    )
    # the orders each duplicate holds in the end
    per_customer = orders.group_by("customer_id").aggregate([("order_id", "count")])
    held = dict(
        zip(
            per_customer.column("customer_id").to_pylist(),
            per_customer.column("order_id_count").to_pylist(),
        )
    )
    duplicates = duplicates.set_column(
        4,
        "moved_order_count",
        pa.array(
            [held.get(c, 0) for c in duplicates.column("customer_id").to_pylist()], pa.int64()
        ),
    )
    near_misses = concat(plant.near_misses, NEAR_MISSES_SCHEMA)
    near_misses = near_misses.filter(
        pc.is_in(near_misses.column("customer_id"), value_set=customers)
    )
    internal = _internal_truth(plant, test_orders)
    internal = internal.filter(
        pc.and_(
            pc.is_in(internal.column("customer_id"), value_set=customers),
            pc.or_(
                pc.is_null(internal.column("order_id")),
                pc.is_in(internal.column("order_id"), value_set=order_ids),
            ),
        )
    )
    outliers = concat(plant.outliers, OUTLIERS_SCHEMA)
    outliers = outliers.filter(
        pc.or_(
            pc.equal(outliers.column("table"), "events"),
            pc.is_in(outliers.column("order_id"), value_set=order_ids),
        )
    )
    return {
        "crm_duplicates": duplicates.sort_by("customer_id"),
        "crm_near_misses": near_misses.sort_by(
            [("group_id", "ascending"), ("customer_id", "ascending")]
        ),
        "internal_accounts": internal.sort_by(
            [("kind", "ascending"), ("customer_id", "ascending"), ("order_id", "ascending")]
        ),
        "outliers": outliers.sort_by(
            [
                (c, "ascending")
                for c in ("table", "kind", "event_id", "order_id", "product_id", "column_name")
            ]
        ),
    }


def _protected_keys(truth: dict[str, pa.Table]) -> dict[str, pa.Array]:
    """Keys of the rows that dirt must spare, per table: the planted customers, the outlier
    and test orders (and their lines)."""
    names = ("crm_duplicates", "crm_near_misses", "internal_accounts", "outliers")
    dup, near, internal, outliers = (truth[k] for k in names)
    customers = pa.chunked_array(
        [
            *dup.column("customer_id").chunks,
            *dup.column("original_customer_id").chunks,
            *near.column("customer_id").chunks,
            *internal.column("customer_id").chunks,
        ],
        pa.string(),
    ).combine_chunks()
    orders = pa.chunked_array(
        [*outliers.column("order_id").chunks, *internal.column("order_id").chunks], pa.string()
    )
    orders = pc.drop_null(orders.combine_chunks())
    return {"customers": customers, "orders": orders, "order_items": orders}


def _planted_counts(truth: dict[str, pa.Table]) -> dict[str, object]:
    """generation.json's summary of the planted cases."""

    def counts(table: pa.Table, column: str, vocab: Sequence[str]) -> dict[str, int]:
        values = table.column(column).to_pylist()
        return {v: values.count(v) for v in vocab}

    near = truth["crm_near_misses"]
    groups = {}
    for kind in NEAR_MISS_KINDS:
        rows = near.filter(pc.equal(near.column("kind"), kind))
        groups[kind] = {
            "groups": len(set(rows.column("group_id").to_pylist())),
            "customers": rows.num_rows,
        }
    internal = truth["internal_accounts"]
    outliers = truth["outliers"]
    return {
        "crm_duplicates": counts(truth["crm_duplicates"], "kind", DUPLICATE_KINDS),
        "crm_near_misses": groups,
        "internal_accounts": counts(internal, "kind", ("internal_account", "test_order")),
        "outliers": counts(
            outliers.filter(pc.invert(outliers.column("is_derived"))), "kind", OUTLIER_KINDS
        ),
    }


# --------------------------------------------------------------------------- #
# Dirty-data injection
# --------------------------------------------------------------------------- #

_DIRTY_SCHEMA = pa.schema(
    [
        ("row", pa.int64()),
        ("expected_outcome", pa.string()),
        ("expected_reason", pa.string()),
        ("expected_utc_timestamp", pa.string()),
    ]
)


def inject_defects(
    table: pa.Table,
    spec: DirtySpec,
    rate: float,
    rng: np.random.Generator,
    end_day_start: int,
    protect: np.ndarray | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Inject ``round(rate * rows)`` defects (one per row) into ``table``.

    Kinds are assigned round-robin over randomly chosen rows; tables with at
    least ``10 * len(spec.kinds)`` rows get at least one defect of every kind.  ``duplicate_key`` copies a clean row and inserts the copy at a
    random *later* position.  Rows where ``protect`` is true (planted cases whose truth a defect
    would break) are never chosen; without protected rows the draws are those of no mask.
    Returns the new table and a log table with the 0-based row of every dirty row in the
    returned table.
    """
    n = table.num_rows
    kinds = spec.kinds
    pool = (
        np.arange(n, dtype=np.int64)
        if protect is None
        else np.flatnonzero(~np.asarray(protect, bool))
    )
    k = int(round(rate * n))
    if rate > 0 and n >= 10 * len(kinds):
        k = max(k, len(kinds))  # every kind appears once the table is big enough
    k = min(k, len(pool))
    if k <= 0:
        return table, _DIRTY_SCHEMA.empty_table()
    sel = pool[rng.choice(len(pool), size=k, replace=False)]
    kind_of = (np.arange(k) + int(rng.integers(len(kinds)))) % len(kinds)
    cols = {name: table.column(name).combine_chunks() for name in table.column_names}
    logs: list[tuple[np.ndarray, str, pa.Array | None]] = []
    dup_src = np.zeros(0, np.int64)

    def replace(col: str, rows: np.ndarray, values: pa.Array) -> None:
        mask = np.zeros(n, bool)
        mask[rows] = True
        cols[col] = pc.replace_with_mask(cols[col], pa.array(mask), values.cast(cols[col].type))

    for ki, kind in enumerate(kinds):
        rows = np.sort(sel[kind_of == ki])
        m = len(rows)
        if m == 0:
            continue
        expected_utc: pa.Array | None = None
        if kind == REASON_MISSING_PK:
            replace(
                spec.primary_key,
                rows,
                pa.array(np.full(m, "", object), pa.string(), mask=np.arange(m) % 2 == 0),
            )
        elif kind == REASON_BAD_TS:
            replace(
                spec.timestamp,
                rows,
                _take_strings(
                    UNPARSEABLE_TIMESTAMPS, rng.integers(0, len(UNPARSEABLE_TIMESTAMPS), m)
                ),
            )
        elif kind == REASON_FUTURE_TS:
            future = end_day_start + 3 * DAY + rng.integers(0, 362 * DAY, m)
            replace(spec.timestamp, rows, iso_strings(future))
        elif kind == REASON_TS_OFFSET:
            original = cols[spec.timestamp].take(pa.array(rows))
            utc = (
                pc.strptime(original, format="%Y-%m-%dT%H:%M:%S", unit="s")
                .cast(pa.int64())
                .to_numpy()
            )
            off = TZ_OFFSETS_MIN[rng.integers(0, len(TZ_OFFSETS_MIN), m)]
            suffix = np.char.add(
                np.where(off < 0, "-", "+"),
                np.char.add(
                    np.char.zfill((np.abs(off) // 60).astype(str), 2),
                    np.char.add(":", np.char.zfill((np.abs(off) % 60).astype(str), 2)),
                ),
            )
            local = pc.binary_join_element_wise(
                iso_strings(utc + off * 60), pa.array(suffix, pa.string()), ""
            )
            replace(spec.timestamp, rows, local)
            expected_utc = original
        elif kind == REASON_NEG_AMOUNT:
            x = cols["total_amount"].take(pa.array(rows)).to_numpy(zero_copy_only=False)
            replace("total_amount", rows, pa.array(np.where(x > 0, -x, -1.0)))
        elif kind == REASON_NEG_QTY:
            x = cols["quantity"].take(pa.array(rows)).to_numpy(zero_copy_only=False)
            replace("quantity", rows, pa.array(-np.maximum(x, 1)))
        elif kind == REASON_NEG_PRICE:
            x = cols["unit_price"].take(pa.array(rows)).to_numpy(zero_copy_only=False)
            replace("unit_price", rows, pa.array(np.where(x > 0, -x, -1.0)))
        elif kind == REASON_BAD_STATUS:
            replace(
                "status",
                rows,
                _take_strings(INVALID_STATUSES, rng.integers(0, len(INVALID_STATUSES), m)),
            )
        elif kind == REASON_UNKNOWN_EVENT:
            replace(
                "event_type",
                rows,
                _take_strings(UNKNOWN_EVENT_TYPES, rng.integers(0, len(UNKNOWN_EVENT_TYPES), m)),
            )
        elif kind == REASON_DUPLICATE:
            dup_src = rows
            continue
        else:  # pragma: no cover - guarded by DIRTY_SPECS
            raise ValueError(kind)
        logs.append((rows, kind, expected_utc))

    out = pa.table(cols)
    new_pos = np.arange(n, dtype=np.int64)
    dup_pos = np.zeros(0, np.int64)
    if len(dup_src):
        target = rng.integers(
            dup_src + 1, n + 1
        )  # insert before original row `target` (n = at the end)
        keys = np.concatenate([np.arange(n, dtype=np.int64) * 2, target * 2 - 1])
        src = np.concatenate([np.arange(n, dtype=np.int64), dup_src])
        perm = np.argsort(keys, kind="stable")
        out = out.take(pa.array(src[perm]))
        inv = np.empty(len(perm), np.int64)
        inv[perm] = np.arange(len(perm))
        new_pos = inv[:n]
        dup_pos = inv[n:]

    log_tables = []
    for rows, kind, expected_utc in logs:
        m = len(rows)
        log_tables.append(
            pa.table(
                {
                    "row": pa.array(new_pos[rows], pa.int64()),
                    "expected_outcome": _repeat_string(
                        "accepted" if kind in ACCEPTED_REASONS else "quarantine", m
                    ),
                    "expected_reason": _repeat_string(kind, m),
                    "expected_utc_timestamp": expected_utc
                    if expected_utc is not None
                    else pa.nulls(m, pa.string()),
                },
                schema=_DIRTY_SCHEMA,
            )
        )
    if len(dup_pos):
        m = len(dup_pos)
        log_tables.append(
            pa.table(
                {
                    "row": pa.array(dup_pos, pa.int64()),
                    "expected_outcome": _repeat_string("quarantine", m),
                    "expected_reason": _repeat_string(REASON_DUPLICATE, m),
                    "expected_utc_timestamp": pa.nulls(m, pa.string()),
                },
                schema=_DIRTY_SCHEMA,
            )
        )
    log = pa.concat_tables(log_tables) if log_tables else _DIRTY_SCHEMA.empty_table()
    return out, log


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


#: events columns that get Parquet min/max statistics (stats on every string column are slow)
EVENT_STATISTICS_COLUMNS = (
    "event_id",
    "anonymous_id",
    "user_id",
    "event_type",
    "occurred_at",
    "scroll_depth_pct",
    "engaged_seconds",
    "revenue",
)


def _write_table(
    table: pa.Table, path: Path, fmt: str, statistics: bool | Sequence[str] = True
) -> None:
    """Write one file with fixed, deterministic settings (no timestamps in metadata)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(
            table,
            path,
            compression="zstd",
            compression_level=1,
            row_group_size=500_000,
            use_dictionary=True,
            write_statistics=statistics if isinstance(statistics, bool) else list(statistics),
            store_schema=False,
        )
    else:
        pacsv.write_csv(_decode_dictionaries(table), path, pacsv.WriteOptions(include_header=True))


def _decode_dictionaries(table: pa.Table) -> pa.Table:
    """Replace dictionary-encoded columns by plain string columns."""
    cols = [
        pc.cast(col, pa.string()) if pa.types.is_dictionary(col.type) else col
        for col in table.columns
    ]
    return pa.table(cols, names=table.column_names)


def _decoded_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with dictionary types replaced by their value types."""
    return pa.schema(
        [
            pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
            for f in schema
        ]
    )


def _write_truth_parquet(table: pa.Table, path: Path) -> None:
    """Ground-truth files are always Parquet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=3,
        row_group_size=500_000,
        store_schema=False,
    )


def _calibrate_scale(world: _World, cfg: GeneratorConfig) -> float:
    """Session-rate multiplier that yields ~``events_per_customer`` events per customer.

    Runs a deterministic pilot simulation (own seed) and solves
    ``scaled * s + fixed = target`` where *scaled* are events of organic visits
    and *fixed* those of e-mails and e-mail/signup visits.
    """
    if cfg.events_per_customer is None:
        return 1.0
    nc = min(cfg.customers, 3000)
    na = int(round(nc * cfg.n_anonymous / cfg.customers))
    world.session_scale = 1.0
    pilot = _simulate_chunk(world, _rng(cfg.seed, 9), 0, nc, na)
    target = cfg.events_per_customer * nc
    scale = (target - pilot.n_events_fixed) / max(pilot.n_events_scaled, 1)
    return float(np.clip(scale, 0.02, 200.0))


def _lapsed_cutoff(cfg: GeneratorConfig) -> str | None:
    """ISO timestamp of the first quiet day (``lapsed_days``), or None without quiet days."""
    if cfg.lapsed_days == 0:
        return None
    first_quiet = _epoch(cfg.end_date) - (cfg.lapsed_days - 1) * DAY
    return datetime.fromtimestamp(first_quiet, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _lapsed_active_customers(cfg: GeneratorConfig) -> pa.Array:
    """Customer ids that stay active in the quiet days (deterministic in the seed)."""
    n_active = min(cfg.customers, max(1, int(round(cfg.customers * LAPSED_ACTIVE_SHARE))))
    who = np.sort(_rng(cfg.seed, 5).choice(cfg.customers, size=n_active, replace=False))
    return id_strings("C", who + 1, 7)


def _active_subjects(active_customers: pa.Array, links: pa.Table) -> pa.Array:
    """The active customers' ids and the anonymous ids of their devices."""
    devices = links.filter(pc.is_in(links.column("customer_id"), value_set=active_customers))
    return pa.concat_arrays([active_customers, devices.column("anonymous_id").combine_chunks()])


def _restrict_to_active(table: pa.Table, name: str, cutoff: str, subjects: pa.Array) -> pa.Table:
    """Rows of ``table`` dated before ``cutoff``, and later rows of the active ``subjects``."""
    time_col, id_cols = LAPSED_COLUMNS[name]
    keep = pc.less(table.column(time_col), pa.scalar(cutoff, pa.string()))
    for col in id_cols:
        keep = pc.or_kleene(keep, pc.is_in(table.column(col), value_set=subjects))
    return table.filter(pc.fill_null(keep, False))


def _shape_rows(cfg: GeneratorConfig, table: str, data: pa.Table) -> pa.Table:
    """Rows a shape writes of a table it keeps: a CRM export without the event stream holds no
    device-level (anonymous id) consents, which belong to the site's cookie banner."""
    if table == "consents" and "events" not in cfg.tables:
        return data.filter(pc.starts_with(data.column("subject_id"), "C"))
    return data


#: files written to the ground-truth folder (and only these are replaced there)
TRUTH_FILES = (
    "personas.parquet",
    "experiments.parquet",
    "experiment_effects.parquet",
    "drift.parquet",
    "identity_links.parquet",
    "dirty_rows.parquet",
    "crm_duplicates.parquet",
    "crm_near_misses.parquet",
    "internal_accounts.parquet",
    "outliers.parquet",
    "generation.json",
)

# --------------------------------------------------------------------------- #
# Orchestration
# --------------------------------------------------------------------------- #


class _EventSink:
    """Streams event chunks into ``events/part-NNNNN.<ext>`` files of exactly
    ``rows_per_file`` rows (the last one may be shorter).

    Writing happens on one background thread (tasks run in submission order),
    so generating chunk *i+1* overlaps with writing chunk *i*.
    """

    def __init__(self, out: Path, fmt: str, rows_per_file: int) -> None:
        self.out = out
        self.fmt = fmt
        self.ext = "parquet" if fmt == "parquet" else "csv"
        self.rows_per_file = rows_per_file
        self.rows = 0  # rows submitted so far (global row number of the next row)
        self.files: list[str] = []
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: list[Future[None]] = []
        self._writer: pq.ParquetWriter | pacsv.CSVWriter | None = None

    def rel_path(self, part: int) -> str:
        """File name of part ``part`` relative to ``out``."""
        return f"events/part-{part:05d}.{self.ext}"

    # -- executed on the writer thread ------------------------------------ #
    def _open(self, rel: str, schema: pa.Schema) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.fmt == "parquet":
            self._writer = pq.ParquetWriter(
                path,
                schema,
                compression="zstd",
                compression_level=1,
                use_dictionary=True,
                write_statistics=list(EVENT_STATISTICS_COLUMNS),
                store_schema=False,
            )
        else:
            self._writer = pacsv.CSVWriter(path, _decoded_schema(schema))

    def _write(self, table: pa.Table) -> None:
        assert self._writer is not None
        if self.fmt == "parquet":
            self._writer.write_table(table, row_group_size=500_000)
        else:
            self._writer.write_table(_decode_dictionaries(table))

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # -- called from the generating thread -------------------------------- #
    def add(self, table: pa.Table) -> None:
        """Queue ``table`` (rows continue the global row numbering)."""
        for fut in self._pending:  # bound memory: at most one chunk in flight
            fut.result()
        self._pending = []
        offset = 0
        while offset < table.num_rows:
            in_part = self.rows % self.rows_per_file
            if in_part == 0:
                rel = self.rel_path(self.rows // self.rows_per_file)
                self.files.append(rel)
                self._pending.append(self._pool.submit(self._open, rel, table.schema))
            take = min(self.rows_per_file - in_part, table.num_rows - offset)
            self._pending.append(self._pool.submit(self._write, table.slice(offset, take)))
            offset += take
            self.rows += take
            if self.rows % self.rows_per_file == 0:
                self._pending.append(self._pool.submit(self._close))

    def close(self) -> None:
        """Flush and close (re-raises writer errors)."""
        try:
            self._pool.submit(self._close).result()
            for fut in self._pending:
                fut.result()
        finally:
            self._pool.shutdown(wait=True)


def generate(
    cfg: GeneratorConfig, progress: Callable[..., object] | None = None
) -> GenerationResult:
    """Generate all tables and ground truth for ``cfg``; returns counts and timing.

    ``progress`` is an optional factory compatible with ``tqdm.tqdm`` (called
    with ``total``, ``desc``, ``unit`` and ``disable``); when omitted, tqdm is
    used unless ``cfg.quiet``.
    """
    cfg.validate()
    t_start = time.perf_counter()
    out = Path(cfg.out)
    truth = cfg.truth_dir
    ext = "parquet" if cfg.fmt == "parquet" else "csv"
    for table in TABLES:  # delete only the table folders this run writes
        target = out / table
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for name in TRUTH_FILES:
        if (truth / name).exists():
            (truth / name).unlink()
    out.mkdir(parents=True, exist_ok=True)

    world = _build_world(cfg)
    world.session_scale = _calibrate_scale(world, cfg)
    world.drift_start = None if cfg.drift_from is None else _epoch(cfg.drift_from)

    n_chunks = -(-cfg.customers // cfg.chunk_customers)
    n_anon = cfg.n_anonymous
    anon_bounds = [(n_anon * i) // n_chunks for i in range(n_chunks + 1)]

    if progress is None:
        from tqdm import tqdm as progress  # noqa: PLW0621 - lazily imported default
    bar = progress(total=n_chunks, desc="generate", unit="chunk", disable=cfg.quiet)

    files: dict[str, list[str]] = {t: [] for t in TABLES}
    dirty_logs: list[pa.Table] = []
    small: dict[str, list[pa.Table]] = {
        t: []
        for t in (
            "orders",
            "order_items",
            "customers",
            "consents",
            "survey_responses",
            "experiment_assignments",
        )
    }
    personas: list[pa.Table] = []
    experiment_truth: list[pa.Table] = []
    links: list[pa.Table] = []
    signups: list[np.ndarray] = []
    anon_off = 0
    order_off = 0
    event_off = 0
    sink = _EventSink(out, cfg.fmt, cfg.events_per_file)
    write_events = "events" in cfg.tables
    cutoff = _lapsed_cutoff(cfg)
    active_customers = _lapsed_active_customers(cfg) if cutoff is not None else None
    # the active customers' duplicate records (if planted) stay active with them
    active_ids = (
        pa.concat_arrays([active_customers, _duplicate_ids_of(active_customers)])
        if cutoff is not None
        else None
    )
    # deletion requests (~0.3% of customers, at least one): chosen first, as the planted cases
    # leave these customers alone
    rng_del = _rng(cfg.seed, 3)
    n_del = max(1, int(round(cfg.customers * 0.003)))
    who = np.sort(rng_del.choice(cfg.customers, size=min(n_del, cfg.customers), replace=False))
    plant = _PlantState(totals=planted_totals(cfg), excluded=who + 1)

    def add_dirty(
        log: pa.Table,
        table: str,
        file_for_row: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    ) -> None:
        if log.num_rows == 0:
            return
        part, row = file_for_row(log.column("row").to_numpy())
        dirty_logs.append(
            pa.table(
                {
                    "table": _repeat_string(table, log.num_rows),
                    "source_file": pa.array(part, pa.string()),
                    "source_row": pa.array(row, pa.int64()),
                    "expected_outcome": log.column("expected_outcome"),
                    "expected_reason": log.column("expected_reason"),
                    "expected_utc_timestamp": log.column("expected_utc_timestamp"),
                }
            )
        )

    try:
        for ci in range(n_chunks):
            c0 = ci * cfg.chunk_customers
            nc = min(cfg.chunk_customers, cfg.customers - c0)
            na = anon_bounds[ci + 1] - anon_bounds[ci]
            rng = _rng(cfg.seed, 1, ci)
            rng_exp = _rng(cfg.seed, 10, ci)
            rng_drift = _rng(cfg.seed, 11, ci) if cfg.drift_from is not None else None
            ch = _simulate_chunk(
                world, rng, c0, nc, na, experiment_rng=rng_exp, drift_rng=rng_drift
            )
            touched = _plant_identity(cfg, world, ch, _rng(cfg.seed, 6, ci), plant)
            cells = _plant_outliers(cfg, ch, _rng(cfg.seed, 7, ci), plant, touched)
            experiment_truth.append(_plant_experiment_effects(world, ch, rng_exp, anon_off))
            ev_table = _events_table(world, ch.events, event_off, anon_off)
            outliers = _outlier_truth(ch, cells, event_off, order_off)
            event_off += ev_table.num_rows
            chunk_links = _links_table(ch, anon_off)
            if cutoff is not None and write_events:
                subjects = _active_subjects(active_ids, chunk_links)
                ev_table = _restrict_to_active(ev_table, "events", cutoff, subjects)
            # outlier events the export still holds (the quiet days keep few); dirt spares them
            is_event = pc.equal(outliers.column("table"), "events")
            planted_events = outliers.filter(is_event).column("event_id")
            if write_events:
                planted_events = pc.filter(
                    planted_events, pc.is_in(planted_events, value_set=ev_table.column("event_id"))
                )
            kept = pc.or_(
                pc.invert(is_event), pc.is_in(outliers.column("event_id"), value_set=planted_events)
            )
            plant.outliers.append(outliers.filter(kept))
            if cfg.dirty_rate > 0 and write_events:
                ev_table, log = inject_defects(
                    ev_table,
                    DIRTY_SPECS["events"],
                    cfg.dirty_rate,
                    _rng(cfg.seed, 2, ci),
                    world.end_day_start,
                    protect=_is_in(ev_table, "event_id", planted_events),
                )
                base = sink.rows

                def locate(rows: np.ndarray, base: int = base) -> tuple[np.ndarray, np.ndarray]:
                    g = base + rows
                    part_idx = g // cfg.events_per_file
                    names = np.char.add(
                        np.char.add("events/part-", np.char.zfill(part_idx.astype(str), 5)),
                        f".{ext}",
                    )
                    return names, g % cfg.events_per_file

                add_dirty(log, "events", locate)
            if write_events:
                sink.add(ev_table)

            orders, items = _orders_tables(world, ch, order_off)
            order_off += orders.num_rows
            small["orders"].append(orders)
            small["order_items"].append(items)
            small["customers"].append(_customers_table(world, ch.customers))
            small["consents"].append(_consents_table(ch.consents, anon_off))
            small["survey_responses"].append(_surveys_table(ch.surveys))
            small["experiment_assignments"].append(_experiments_table(ch.experiments, anon_off))
            personas.append(_personas_table(ch, anon_off))
            links.append(chunk_links)
            signups.append(ch.customers["signup"])
            anon_off += ch.n_anon_ids
            bar.update(1)
            bar.set_postfix(events=f"{event_off:,}")
    finally:
        sink.close()
        bar.close()
    files["events"] = sink.files
    row_counts: dict[str, int] = {"events": sink.rows} if write_events else {}

    # planted records after the simulated ones: duplicates (G ids) and the test orders
    small["customers"].extend(plant.duplicate_customers)
    personas.extend(plant.duplicate_personas)
    test_orders, test_items = _test_orders(cfg, world, plant)
    small["orders"].append(test_orders)
    small["order_items"].append(test_items)

    # deletion requests (chosen above)
    signup_all = np.concatenate(signups)
    lo = np.maximum(signup_all[who], world.window_start)
    t_del = lo + (rng_del.random(len(who)) * (world.window_end - lo + 1)).astype(np.int64)
    o = np.argsort(t_del, kind="stable")
    small["deletion_requests"] = [
        pa.table(
            {"subject_id": id_strings("C", who[o] + 1, 7), "requested_at": iso_strings(t_del[o])}
        )
    ]
    small["products"] = [_products_table(world)]
    if cutoff is not None:
        subjects = _active_subjects(active_ids, pa.concat_tables(links))
        for table in LAPSED_COLUMNS:
            if table != "events":  # events were restricted chunk by chunk
                small[table] = [
                    _restrict_to_active(pa.concat_tables(small[table]), table, cutoff, subjects)
                ]
        kept_orders = small["orders"][0].column("order_id")
        items = pa.concat_tables(small["order_items"])
        small["order_items"] = [
            items.filter(pc.is_in(items.column("order_id"), value_set=kept_orders))
        ]

    # ground truth of the planted cases, of the rows the run holds (the quiet days keep few)
    truth_tables = _planted_truth(plant, test_orders, small)
    protected = _protected_keys(truth_tables)

    # same index ti as in a complete run, so a table's injected defects do not depend on the shape
    for ti, table in enumerate(t for t in TABLES if t != "events"):
        if table not in cfg.tables:
            continue
        data = _shape_rows(cfg, table, pa.concat_tables(small[table]).combine_chunks())
        rel = f"{table}/part-00000.{ext}"
        if cfg.dirty_rate > 0 and table in DIRTY_SPECS:
            key = DIRTY_SPECS[table].primary_key
            data, log = inject_defects(
                data,
                DIRTY_SPECS[table],
                cfg.dirty_rate,
                _rng(cfg.seed, 4, ti),
                world.end_day_start,
                protect=_is_in(data, key, protected[table]) if table in protected else None,
            )
            add_dirty(log, table, lambda rows, rel=rel: (np.full(len(rows), rel, object), rows))
        _write_table(data, out / rel, cfg.fmt)
        files[table].append(rel)
        row_counts[table] = data.num_rows

    # ground truth
    truth.mkdir(parents=True, exist_ok=True)
    _write_truth_parquet(pa.concat_tables(personas).combine_chunks(), truth / "personas.parquet")
    _write_truth_parquet(
        pa.concat_tables(experiment_truth).combine_chunks(), truth / "experiments.parquet"
    )
    _write_truth_parquet(_experiment_effects_table(), truth / "experiment_effects.parquet")
    if cfg.drift_from is not None:
        _write_truth_parquet(_drift_table(cfg.drift_from), truth / "drift.parquet")
    _write_truth_parquet(
        pa.concat_tables(links).combine_chunks().sort_by("anonymous_id"),
        truth / "identity_links.parquet",
    )
    dirty_schema = pa.schema(
        [
            ("table", pa.string()),
            ("source_file", pa.string()),
            ("source_row", pa.int64()),
            ("expected_outcome", pa.string()),
            ("expected_reason", pa.string()),
            ("expected_utc_timestamp", pa.string()),
        ]
    )
    dirty = pa.concat_tables(dirty_logs) if dirty_logs else dirty_schema.empty_table()
    dirty = dirty.sort_by(
        [("table", "ascending"), ("source_file", "ascending"), ("source_row", "ascending")]
    )
    _write_truth_parquet(dirty.combine_chunks(), truth / "dirty_rows.parquet")
    for name, table in truth_tables.items():
        _write_truth_parquet(table, truth / f"{name}.parquet")
    dirty_counts = {t: 0 for t in DIRTY_SPECS}
    if dirty.num_rows:
        for t, cnt in zip(
            *np.unique(dirty.column("table").to_numpy(zero_copy_only=False), return_counts=True)
        ):
            dirty_counts[str(t)] = int(cnt)

    meta = {
        "generator_version": GENERATOR_VERSION,
        "parameters": {
            "customers": cfg.customers,
            "days": cfg.days,
            "seed": cfg.seed,
            "end_date": cfg.end_date.isoformat(),
            "dirty_rate": cfg.dirty_rate,
            "format": cfg.fmt,
            "anonymous_visitors": n_anon,
            "events_per_customer": cfg.events_per_customer,
            "events_per_file": cfg.events_per_file,
            "chunk_customers": cfg.chunk_customers,
            "out": str(cfg.out),
            "truth_out": str(truth),
            # only when set, so that a complete run writes the same file as before shapes existed
            **({"shape": cfg.shape} if cfg.shape != "complete" else {}),
            **({"country": cfg.country} if cfg.country is not None else {}),
            **(
                {
                    "lapsed_days": cfg.lapsed_days,
                    "lapsed_active_customers": len(active_customers),
                    "lapsed_from": cutoff,
                }
                if cutoff is not None
                else {}
            ),
            "crm_duplicate_rate": cfg.crm_duplicate_rate,
            "near_misses": cfg.near_misses,
            "internal_accounts": cfg.internal_accounts,
            "outliers": cfg.outliers,
        },
        "end_date": cfg.end_date.isoformat(),
        "window_start": datetime.fromtimestamp(world.window_start, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S"
        ),
        "window_end": datetime.fromtimestamp(world.window_end, UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "session_scale": round(world.session_scale, 6),
        "row_counts": row_counts,
        "dirty_row_counts": dirty_counts,
        "files": files,
        "personas": {name: float(share) for name, share in zip(CUSTOMER_PERSONAS, PERSONA_SHARES)},
        "reasons": sorted({k for s in DIRTY_SPECS.values() for k in s.kinds}),
        "planted": _planted_counts(truth_tables),
        "truth_files": [name for name in TRUTH_FILES if name != "generation.json"],
    }
    (truth / "generation.json").write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n")

    return GenerationResult(
        row_counts=row_counts,
        dirty_counts=dirty_counts,
        files=files,
        seconds=time.perf_counter() - t_start,
        truth_dir=truth,
        out_dir=out,
        session_scale=world.session_scale,
    )


def format_summary(result: GenerationResult) -> str:
    """Short human-readable summary of a run."""
    lines = [f"wrote {result.out_dir} (ground truth: {result.truth_dir})"]
    width = max(len(t) for t in result.row_counts)
    for table, rows in result.row_counts.items():
        extra = (
            f"  ({result.dirty_counts[table]:,} dirty)" if result.dirty_counts.get(table) else ""
        )
        nfiles = len(result.files.get(table, []))
        lines.append(f"  {table:<{width}} {rows:>12,} rows in {nfiles} file(s){extra}")
    left_out = [t for t in TABLES if t not in result.row_counts]
    if left_out:
        lines.append(f"  left out (shape): {', '.join(left_out)}")
    if "events" in result.row_counts:
        lines.append(f"  {result.seconds:.1f} s, {result.events_per_second:,.0f} events/s")
    else:
        lines.append(f"  {result.seconds:.1f} s")
    return "\n".join(lines)
