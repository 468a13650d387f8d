"""Deterministic synthetic regulated data: fan accounts (PII) and player
medical stints (PHI).

The Lahman release is public, so it holds nothing a privacy programme has to
protect. To exercise masking, de-identification and PII scanning on realistic
material, ingest generates two invented tables beside it. Nothing is ever
committed: the same seed, sizes and roster give byte-for-byte the same tables
(for a given Faker version, which is part of :data:`GENERATOR_VERSION`), and a
different seed gives different values.

Faker supplies names, streets, cities and network addresses. Values whose
*format* matters to the scanners and masking policies (card numbers that pass
the Luhn check, SSN-shaped ids that follow the issuing rules, phone numbers in
the formats people type, ZIP codes in HIPAA's low-population areas, ages over
89) are made here, so their rules are explicit and tested.

Medical stints link invented injuries to real player-seasons taken from the
roster (Lahman appearances), so joins to ``people`` and ``teams`` work.
"""

from __future__ import annotations

import importlib.metadata
import ipaddress
import os
import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pyarrow as pa

from diamond.contracts import ARROW_TYPES
from diamond.errors import ConfigError
from diamond.lahman import Column, TableSpec

if TYPE_CHECKING:
    import faker

#: Changes whenever the generated values would change for the same settings,
#: so that ingest reloads. Faker's version is part of it because its word
#: lists and algorithms decide the names, streets and cities.
# Read from the package metadata so that a load whose tables come from
# diamond.synthetic_cache never imports Faker, a seventh of a second.
GENERATOR_VERSION = f"2+faker{importlib.metadata.version('faker')}"

#: Ages and sign-up dates are computed against this day, not today, so a
#: table generated next year is the same table.
REFERENCE_DATE = date(2025, 1, 1)

#: ZIP3 prefixes whose areas hold 20,000 people or fewer; HIPAA Safe Harbor
#: requires them to be reported as 000.
LOW_POPULATION_ZIP3 = (
    "036", "059", "063", "102", "203", "556", "692", "790", "821", "823",
    "830", "831", "878", "879", "884", "890", "893",
)  # fmt: skip
LOW_POPULATION_ZIP_SHARE = 0.03

DEFAULT_SEED = 7
DEFAULT_FANS = 2000
DEFAULT_MEDICAL_STINTS = 1500
# Ids are FAN + 7 digits, so there is room for at most this many accounts.
MAX_FANS = 10_000_000
MAX_MEDICAL_STINTS = 10_000_000
MAX_SEED = 2**63 - 1

ROSTER_COLUMNS = ("player_id", "year_id", "team_id")
# Injured-list records are only plausible for the modern era; older seasons
# are used only when the roster has nothing newer.
MODERN_SEASON = 1990


def _spec_columns(spec: str) -> tuple[Column, ...]:
    codes = {"V": "VARCHAR", "I": "INTEGER", "T": "DATE"}
    return tuple(
        Column(name, codes[code])
        for name, code in (item.rsplit(":", 1) for item in spec.split())
    )


FAN_ACCOUNTS = TableSpec(
    "fan_accounts",
    "synthetic/fan_accounts.csv",
    _spec_columns(
        "fan_id:V full_name:V email:V phone:V street_address:V city:V state:V "
        "zip_code:V date_of_birth:T national_id:V card_number:V ip_address:V "
        "favorite_team_id:V signup_date:T support_notes:V"
    ),
    ("fan_id",),
    notes="Synthetic: every value is invented at ingest time.",
)

PLAYER_MEDICAL_STINTS = TableSpec(
    "player_medical_stints",
    "synthetic/player_medical_stints.csv",
    _spec_columns(
        "stint_id:V player_id:V year_id:I team_id:V medical_record_number:V "
        "health_plan_id:V diagnosis:V body_part:V treatment:V physician_name:V "
        "facility_city:V injury_date:T return_date:T days_missed:I "
        "clinical_notes:V"
    ),
    ("stint_id",),
    references=(("player_id", "people", "player_id"),),
    notes="Synthetic injuries attached to real player-seasons.",
)

SYNTHETIC_TABLES = (FAN_ACCOUNTS, PLAYER_MEDICAL_STINTS)

#: The ground truth of what each column holds, in the PII vocabulary the
#: scanner in ``governance.privacy.scan`` uses; None means not personal.
LABELS: dict[tuple[str, str], str | None] = {
    ("fan_accounts", "fan_id"): None,
    ("fan_accounts", "full_name"): "person_name",
    ("fan_accounts", "email"): "email",
    ("fan_accounts", "phone"): "phone",
    ("fan_accounts", "street_address"): "street_address",
    ("fan_accounts", "city"): "city",
    ("fan_accounts", "state"): None,
    ("fan_accounts", "zip_code"): "zip_code",
    ("fan_accounts", "date_of_birth"): "date_of_birth",
    ("fan_accounts", "national_id"): "ssn",
    ("fan_accounts", "card_number"): "credit_card",
    ("fan_accounts", "ip_address"): "ip_address",
    ("fan_accounts", "favorite_team_id"): None,
    ("fan_accounts", "signup_date"): None,
    ("fan_accounts", "support_notes"): "free_text_pii",
    ("player_medical_stints", "stint_id"): None,
    ("player_medical_stints", "player_id"): None,
    ("player_medical_stints", "year_id"): None,
    ("player_medical_stints", "team_id"): None,
    ("player_medical_stints", "medical_record_number"): "medical_record_number",
    ("player_medical_stints", "health_plan_id"): "health_plan_id",
    ("player_medical_stints", "diagnosis"): None,
    ("player_medical_stints", "body_part"): None,
    ("player_medical_stints", "treatment"): None,
    ("player_medical_stints", "physician_name"): "person_name",
    ("player_medical_stints", "facility_city"): "city",
    ("player_medical_stints", "injury_date"): "date",
    ("player_medical_stints", "return_date"): "date",
    ("player_medical_stints", "days_missed"): None,
    ("player_medical_stints", "clinical_notes"): "free_text_pii",
}

# Area codes of large US metros, so numbers look like ones fans type.
_AREA_CODES = (
    "212", "213", "214", "215", "216", "217", "301", "303", "305", "312",
    "313", "314", "404", "412", "414", "415", "469", "503", "512", "513",
    "602", "612", "617", "646", "702", "713", "718", "720", "773", "801",
    "816", "860", "901", "904", "916", "919", "949", "972",
)  # fmt: skip
_PHONE_FORMATS = (
    "({a}) {e}-{n}",
    "{a}-{e}-{n}",
    "+1 {a} {e} {n}",
    "{a}.{e}.{n}",
    "1-{a}-{e}-{n}",
)
# Issuer prefixes: Visa (4) and Mastercard (51-55).
_CARD_PREFIXES = ("4", "51", "52", "53", "54", "55")

# (diagnosis, body part, treatments, typical days missed)
_INJURIES: tuple[tuple[str, str, tuple[str, ...], tuple[int, int]], ...] = (
    (
        "Ulnar collateral ligament tear",
        "elbow",
        ("Tommy John surgery", "Platelet-rich plasma injection"),
        (60, 420),
    ),
    ("Hamstring strain", "hamstring", ("Rest and physical therapy",), (10, 45)),
    ("Oblique strain", "abdomen", ("Rest and core rehabilitation",), (14, 50)),
    (
        "Rotator cuff tendinitis",
        "shoulder",
        ("Cortisone injection", "Rest and physical therapy"),
        (15, 60),
    ),
    ("Torn labrum", "shoulder", ("Arthroscopic labral repair",), (90, 300)),
    ("Sprained ankle", "ankle", ("Immobilization and rehabilitation",), (7, 30)),
    ("Concussion", "head", ("Concussion protocol",), (7, 40)),
    ("Fractured hamate", "wrist", ("Hamate excision surgery",), (30, 60)),
    ("Plantar fasciitis", "foot", ("Orthotics and stretching program",), (10, 45)),
    ("Lower back strain", "lower back", ("Anti-inflammatories and rest",), (10, 35)),
    ("Torn anterior cruciate ligament", "knee", ("ACL reconstruction",), (180, 365)),
    ("Meniscus tear", "knee", ("Arthroscopic meniscectomy",), (30, 70)),
    ("Groin strain", "groin", ("Rest and physical therapy",), (10, 35)),
    ("Fractured finger", "finger", ("Splinting",), (14, 40)),
    ("Calf strain", "calf", ("Rest and physical therapy",), (10, 30)),
    ("Forearm flexor strain", "forearm", ("Rest and throwing program",), (20, 60)),
    ("Achilles tendon rupture", "ankle", ("Achilles tendon repair",), (180, 400)),
    ("Quadriceps strain", "thigh", ("Rest and physical therapy",), (10, 40)),
    ("Thoracic outlet syndrome", "shoulder", ("First rib resection",), (90, 240)),
    ("Hip impingement", "hip", ("Hip arthroscopy",), (60, 180)),
)

_QUIET_NOTES = (
    "Asked about parking at the ballpark; pointed to the stadium FAQ.",
    "Seat upgrade request for the home opener; added to the waitlist.",
    "Complained about concession prices. No action needed.",
    "Wants to know when the giveaway schedule is published.",
    "Mobile tickets did not load at the gate; resolved by reinstalling the app.",
    "Requested an accessible seating plan for the next homestand.",
)
_PII_NOTES = (
    "Fan asked us to send the refund to {email}; card ending {last4}.",
    "{name} called from {phone} about a double charge on card {card}.",
    "Please re-send the season-ticket invoice to {email} for {name}.",
    "Verified identity with SSN {ssn} before resetting the password.",
    "Chargeback opened for card {card}; fan can be reached at {phone}.",
    "Customer {name} asked to update the contact number to {phone}.",
    "Refund of two tickets approved; confirmation mailed to {email}.",
    "Fraud review: card {card} used from a new device, fan confirmed by phone.",
)
_CLINICAL_NOTES = (
    "{diagnosis} confirmed by MRI on {date}; seen by {physician} ({mrn}).",
    "Follow-up scheduled with {physician}; clinic line {phone}.",
    "Record {mrn}: {treatment} went as planned, no complications.",
    "Player reports soreness in the {body_part}; re-evaluation on {date}.",
    "Cleared for light activity by {physician} on {date}.",
    "Rehab progressing as expected; {treatment} continues.",
    "Imaging unremarkable beyond the known {diagnosis_lower}.",
    "Pain level improving week over week; no setbacks reported.",
)


def _derived_rng(seed: int, stream: str) -> random.Random:
    """A generator for one table: changing the size of one table must not
    change the values of the other."""
    return random.Random(f"diamond-synthetic:{seed}:{stream}")


def _faker(seed: int, stream: str) -> faker.Faker:
    import faker

    fake = faker.Faker("en_US")
    fake.seed_instance(f"diamond-synthetic:{seed}:{stream}:faker")
    return fake


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(payload)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    """Whether a string of digits passes the Luhn (mod 10) check."""
    if not number.isdigit() or len(number) < 2:
        return False
    return luhn_check_digit(number[:-1]) == number[-1]


def _card_number(rng: random.Random) -> str:
    prefix = rng.choice(_CARD_PREFIXES)
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(15 - len(prefix)))
    return body + luhn_check_digit(body)


def _ssn(rng: random.Random) -> str:
    """An SSN-format id that follows the issuing rules: area 001-899 but not
    666, group 01-99, serial 0001-9999."""
    area = rng.randrange(1, 899)
    if area >= 666:
        area += 1
    return f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"


def _phone(rng: random.Random) -> str:
    exchange = f"{rng.randrange(2, 10)}{rng.randrange(10)}{rng.randrange(10)}"
    if exchange[1:] == "11":
        # N11 codes are service numbers (411, 911), never exchanges.
        exchange = exchange[0] + "21"
    return rng.choice(_PHONE_FORMATS).format(
        a=rng.choice(_AREA_CODES), e=exchange, n=f"{rng.randrange(10000):04d}"
    )


def _birth_date(rng: random.Random) -> date:
    # Mostly working-age adults, with a thin tail past 89 so the Safe
    # Harbor age rule has something to act on.
    roll = rng.random()
    if roll < 0.03:
        age = rng.randint(90, 95)
    elif roll < 0.1:
        age = rng.randint(70, 89)
    else:
        age = rng.randint(18, 69)
    latest = _years_before(REFERENCE_DATE, age)
    earliest = _years_before(REFERENCE_DATE, age + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _zip_code(rng: random.Random, fake: faker.Faker) -> str:
    if rng.random() < LOW_POPULATION_ZIP_SHARE:
        return rng.choice(LOW_POPULATION_ZIP3) + f"{rng.randrange(100):02d}"
    return fake.zipcode()


def _ip_address(rng: random.Random, fake: faker.Faker) -> str:
    if rng.random() < 0.1:
        return fake.ipv6()
    # Drawn here rather than by Faker's ipv4_public, which costs ten times
    # more; the standard library knows which addresses are not public.
    while True:
        address = ipaddress.IPv4Address(rng.getrandbits(32))
        if address.is_global and not address.is_multicast:
            return str(address)


def _email(rng: random.Random, fake: faker.Faker, first: str, last: str) -> str:
    first_part = re.sub(r"[^a-z]", "", first.lower())
    last_part = re.sub(r"[^a-z]", "", last.lower())
    style = rng.randrange(4)
    if style == 0:
        local = f"{first_part}.{last_part}"
    elif style == 1:
        local = f"{first_part[0]}{last_part}{rng.randrange(1, 100)}"
    elif style == 2:
        local = f"{last_part}.{first_part}{rng.randrange(1950, 2006)}"
    else:
        local = f"{first_part}_{last_part[0]}"
    domain = fake.free_email_domain() if rng.random() < 0.8 else fake.domain_name()
    return f"{local}@{domain}"


def _support_note(
    rng: random.Random, name: str, email: str, phone: str, card: str, ssn: str
) -> str:
    if rng.random() < 0.15:
        return rng.choice(_QUIET_NOTES)
    template = rng.choice(_PII_NOTES)
    return template.format(
        name=name, email=email, phone=phone, card=card, ssn=ssn, last4=card[-4:]
    )


def _check_size(value: object, argument: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{argument} must be a whole number of rows, got {value!r}"
        raise ConfigError(msg)
    if value < 0 or value > limit:
        msg = f"{argument} must be between 0 and {limit:,} rows, got {value:,}"
        raise ConfigError(msg)
    return value


def _roster_rows(roster: pa.Table) -> list[tuple[str, int, str]]:
    if not isinstance(roster, pa.Table):
        msg = (
            f"roster must be a pyarrow.Table with columns {ROSTER_COLUMNS}, "
            f"got {type(roster).__name__}"
        )
        raise ConfigError(msg)
    missing = [c for c in ROSTER_COLUMNS if c not in roster.column_names]
    if missing:
        msg = (
            f"roster is missing column(s) {missing}: pass the Lahman "
            f"appearances table with {', '.join(ROSTER_COLUMNS)}"
        )
        raise ConfigError(msg)
    columns = [roster.column(c).to_pylist() for c in ROSTER_COLUMNS]
    # Sorted and de-duplicated so the input's row order cannot change output.
    rows = sorted(
        {
            (str(p), int(y), str(t))
            for p, y, t in zip(*columns, strict=True)
            if p is not None and y is not None and t is not None
        }
    )
    if not rows:
        msg = (
            "roster has no complete (player_id, year_id, team_id) rows: pass "
            "the Lahman appearances table"
        )
        raise ConfigError(msg)
    return rows


@dataclass(frozen=True)
class _Pools:
    """Faker values drawn once per table and combined by our generator.

    Faker's weighted word lists cost about a millisecond a value; drawing a
    few hundred of each and combining them keeps ingest fast while names
    and addresses still vary (300 first names by 300 last names is 90,000
    people).
    """

    first_names: list[str]
    last_names: list[str]
    street_names: list[str]
    cities: list[str]

    @classmethod
    def draw(cls, fake: faker.Faker, size: int) -> _Pools:
        count = max(1, min(size, 300))
        return cls(
            [fake.first_name() for _ in range(count)],
            [fake.last_name() for _ in range(count)],
            [fake.street_name() for _ in range(count)],
            [fake.city() for _ in range(max(1, count // 2))],
        )


def _street_address(rng: random.Random, pools: _Pools) -> str:
    number = rng.choice((rng.randrange(1, 100), rng.randrange(100, 10000)))
    return f"{number} {rng.choice(pools.street_names)}"


def _fan_accounts(seed: int, size: int, team_ids: list[str]) -> pa.Table:
    rng = _derived_rng(seed, "fans")
    fake = _faker(seed, "fans")
    pools = _Pools.draw(fake, size)
    columns: dict[str, list] = {c: [] for c in FAN_ACCOUNTS.column_names}
    ids = rng.sample(range(MAX_FANS), size)
    first_signup = date(2005, 1, 1)
    signup_span = (REFERENCE_DATE - first_signup).days
    for number in ids:
        first = rng.choice(pools.first_names)
        last = rng.choice(pools.last_names)
        name = f"{first} {last}"
        email = _email(rng, fake, first, last)
        phone = _phone(rng)
        card = _card_number(rng)
        ssn = _ssn(rng)
        born = _birth_date(rng)
        adult = _years_before(born, -18)
        start = max(first_signup, adult)
        span = max((REFERENCE_DATE - start).days, 1)
        signup = start + timedelta(days=rng.randrange(min(span, signup_span)))
        row = {
            "fan_id": f"FAN{number:07d}",
            "full_name": name,
            "email": email,
            "phone": phone,
            "street_address": _street_address(rng, pools),
            "city": rng.choice(pools.cities),
            "state": fake.state_abbr(include_territories=False),
            "zip_code": _zip_code(rng, fake),
            "date_of_birth": born,
            "national_id": ssn,
            "card_number": card,
            "ip_address": _ip_address(rng, fake),
            "favorite_team_id": rng.choice(team_ids),
            "signup_date": signup,
            "support_notes": _support_note(rng, name, email, phone, card, ssn),
        }
        for column, value in row.items():
            columns[column].append(value)
    return _to_arrow(FAN_ACCOUNTS, columns)


def _unique_codes(rng: random.Random, count: int, make) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        code = make(rng)
        if code not in seen:
            seen.add(code)
            out.append(code)
    return out


def _health_plan_id(rng: random.Random) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
    return "HP" + "".join(rng.choice(alphabet) for _ in range(10))


def _medical_stints(
    seed: int, size: int, roster: list[tuple[str, int, str]]
) -> pa.Table:
    rng = _derived_rng(seed, "medical")
    fake = _faker(seed, "medical")
    modern = [row for row in roster if row[1] >= MODERN_SEASON]
    candidates = modern or roster
    picks = sorted(rng.choice(candidates) for _ in range(size))
    players = sorted({p for p, _, _ in picks})
    mrns = _unique_codes(rng, len(players), lambda r: f"MRN-{r.randrange(10**8):08d}")
    plans = _unique_codes(rng, len(players), _health_plan_id)
    record = dict(zip(players, zip(mrns, plans, strict=True), strict=True))
    # A club works with a few dozen physicians in a handful of cities.
    physicians = [f"Dr. {fake.first_name()} {fake.last_name()}" for _ in range(60)]
    cities = [fake.city() for _ in range(25)]
    clinic_phones = [_phone(rng) for _ in range(25)]

    rows = []
    for player_id, year_id, team_id in picks:
        diagnosis, body_part, treatments, (low, high) = rng.choice(_INJURIES)
        season_start, season_end = date(year_id, 3, 20), date(year_id, 9, 30)
        injured = season_start + timedelta(
            days=rng.randrange((season_end - season_start).days)
        )
        days = rng.randint(low, high)
        season_ending = rng.random() < 0.05 or injured + timedelta(days) > season_end
        if season_ending:
            returned = None
            days = (season_end - injured).days + 1
        else:
            returned = injured + timedelta(days=days)
        rows.append((year_id, player_id, injured, team_id, diagnosis, body_part,
                     rng.choice(treatments), returned, days))  # fmt: skip

    rows.sort(key=lambda r: (r[0], r[1], r[2], r[3]))
    columns: dict[str, list] = {c: [] for c in PLAYER_MEDICAL_STINTS.column_names}
    for index, row in enumerate(rows, start=1):
        year_id, player_id, injured, team_id, diagnosis, body_part = row[:6]
        treatment, returned, days = row[6:]
        mrn, plan = record[player_id]
        physician = rng.choice(physicians)
        note = rng.choice(_CLINICAL_NOTES).format(
            diagnosis=diagnosis,
            diagnosis_lower=diagnosis.lower(),
            body_part=body_part,
            treatment=_mid_sentence(treatment),
            physician=physician,
            mrn=mrn,
            date=(injured + timedelta(days=rng.randrange(1, 10))).isoformat(),
            phone=rng.choice(clinic_phones),
        )
        values = {
            "stint_id": f"STN{index:07d}",
            "player_id": player_id,
            "year_id": year_id,
            "team_id": team_id,
            "medical_record_number": mrn,
            "health_plan_id": plan,
            "diagnosis": diagnosis,
            "body_part": body_part,
            "treatment": treatment,
            "physician_name": physician,
            "facility_city": rng.choice(cities),
            "injury_date": injured,
            "return_date": returned,
            "days_missed": days,
            "clinical_notes": note,
        }
        for column, value in values.items():
            columns[column].append(value)
    return _to_arrow(PLAYER_MEDICAL_STINTS, columns)


def _mid_sentence(phrase: str) -> str:
    """Lower-case a leading capital unless it starts an acronym (ACL)."""
    if len(phrase) > 1 and phrase[1].islower():
        return phrase[0].lower() + phrase[1:]
    return phrase


_EPOCH = date(1970, 1, 1)


def _to_arrow(spec: TableSpec, columns: dict[str, list]) -> pa.Table:
    arrays = []
    for column in spec.columns:
        values = columns[column.name]
        if column.type == "DATE":
            # Arrow converts date objects through pandas, whose import costs
            # more than generating the table; day numbers need no pandas.
            days = [None if v is None else (v - _EPOCH).days for v in values]
            arrays.append(pa.array(days, pa.int32()).cast(pa.date32()))
        else:
            arrays.append(pa.array(values, ARROW_TYPES[column.type]))
    schema = pa.schema([(c.name, ARROW_TYPES[c.type]) for c in spec.columns])
    return pa.Table.from_arrays(arrays, schema=schema)


def generate(
    roster: pa.Table,
    *,
    seed: int = DEFAULT_SEED,
    fans: int = DEFAULT_FANS,
    medical_stints: int = DEFAULT_MEDICAL_STINTS,
) -> dict[str, pa.Table]:
    """Generate both synthetic tables, keyed by table name.

    ``roster`` holds real appearances (player_id, year_id, team_id): medical
    stints are attached to its rows, preferring seasons from 1990 on, and
    fans follow the teams of its latest season.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        msg = f"seed must be a non-negative integer, got {seed!r}"
        raise ConfigError(msg)
    fans = _check_size(fans, "fans", MAX_FANS)
    medical_stints = _check_size(medical_stints, "medical_stints", MAX_MEDICAL_STINTS)
    rows = _roster_rows(roster)
    latest = max(year for _, year, _ in rows)
    team_ids = sorted({team for _, year, team in rows if year == latest})
    return {
        FAN_ACCOUNTS.name: _fan_accounts(seed, fans, team_ids),
        PLAYER_MEDICAL_STINTS.name: _medical_stints(seed, medical_stints, rows),
    }


def _env_int(name: str, default: int, *, limit: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        msg = f"{name} must be a whole number, got {raw!r}: fix or unset it"
        raise ConfigError(msg) from None
    if not 0 <= value <= limit:
        msg = f"{name} must be between 0 and {limit:,}, got {value:,}: fix or unset it"
        raise ConfigError(msg)
    return value


def settings_from_env() -> tuple[int, int, int]:
    """(seed, fans, medical_stints) from the DIAMOND_SYNTHETIC_* variables."""
    return (
        _env_int("DIAMOND_SYNTHETIC_SEED", DEFAULT_SEED, limit=MAX_SEED),
        _env_int("DIAMOND_SYNTHETIC_FANS", DEFAULT_FANS, limit=MAX_FANS),
        _env_int(
            "DIAMOND_SYNTHETIC_MEDICAL_STINTS",
            DEFAULT_MEDICAL_STINTS,
            limit=MAX_MEDICAL_STINTS,
        ),
    )
