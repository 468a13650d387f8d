"""Classify warehouse columns as personal data with Microsoft Presidio.

Each column gets a verdict from two kinds of evidence:

* **values**: a deterministic sample of the column's non-null values is run
  through Presidio's pattern recognizers (email, phone, US SSN, credit card
  with the Luhn check, IP address, dates, Medicare ids) and a few of our own
  for what Presidio lacks (medical record numbers, health plan ids, US ZIP
  codes, street addresses, "Dr. First Last"). A column is flagged when enough
  of the sample is *entirely* one kind of value; prose columns are flagged
  as ``free_text_pii`` when enough values carry PII somewhere inside them.
* **names**: the column name (``email``, ``zip_code``, ``date_of_birth``,
  ``physician_name``...) lowers the share of matching values needed, and is
  the only evidence for what no regex can see without a language model:
  person names, cities and dates kept in parts (``birth_month``,
  ``death_day``, and ``birth_year`` beside the month or day of the same
  date: a year alone is what Safe Harbor keeps). Even then the values must
  fit: words for a name, but not an organisation's ("Adrian College");
  numbers in range for a part of a date. A city is personal only in a
  relation about people, one where a person's name or identifiers were
  found or whose key names a person (``customer_id``): the city of a
  ballpark or a college is not.

Weak patterns (a five-digit number, a date, "123 Some Words") never flag a
column on their own: a ZIP code or street needs the column name to agree, a
date needs a name that says what it is (birth, injury, admission...) or a
medical identifier in the same relation, since dates tied to care are PHI.
Values of a masked column (hashes, ``****1234``) match nothing, so a masked
``email`` column is not reported even though its name suggests it.

Presidio's default engine loads a spaCy model that must be downloaded. Here
it runs on a blank English pipeline (tokenizer only), which the pattern
recognizers need and nothing else; no network access happens, including the
public-suffix lookup of the email recognizer, which uses tldextract's bundled
snapshot. Importing Presidio takes about 1.1 s and building the analyzer
about 0.1 s on the project machine, so :func:`analyzer` builds it once.

    from governance.privacy.scan import scan_duckdb, write_report
    findings = scan_duckdb(Path("warehouse/diamond.duckdb"), ["raw"])
    write_report(findings, Path("target/pii_report.json"))
"""

from __future__ import annotations

import json
import os
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from diamond.errors import ConfigError, DiamondError

if TYPE_CHECKING:
    from presidio_analyzer import AnalyzerEngine, RecognizerResult

#: The PII vocabulary shared with ``diamond.synthetic.LABELS``.
PII_TYPES = (
    "person_name",
    "email",
    "phone",
    "street_address",
    "city",
    "zip_code",
    "date_of_birth",
    "date",
    "ssn",
    "credit_card",
    "ip_address",
    "medical_record_number",
    "health_plan_id",
    "free_text_pii",
)

#: Presidio entity -> PII type.
ENTITY_TYPES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "US_SSN": "ssn",
    "CREDIT_CARD": "credit_card",
    "IP_ADDRESS": "ip_address",
    "DATE_TIME": "date",
    "MEDICAL_RECORD_NUMBER": "medical_record_number",
    "HEALTH_PLAN_ID": "health_plan_id",
    "US_MBI": "health_plan_id",
    "US_ZIP_CODE": "zip_code",
    "STREET_ADDRESS": "street_address",
    "TITLED_PERSON": "person_name",
}

# Patterns too common in ordinary data to flag a column without a name (or,
# for dates, a medical context) that agrees.
_WEAK_TYPES = frozenset({"zip_code", "street_address", "date"})
# What counts as personal data inside prose; a bare date or number does not.
_PROSE_ENTITIES = frozenset(
    {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "US_SSN",
        "CREDIT_CARD",
        "IP_ADDRESS",
        "MEDICAL_RECORD_NUMBER",
        "HEALTH_PLAN_ID",
        "US_MBI",
        "TITLED_PERSON",
    }
)
# Relations holding these are health records: their dates are PHI.
_PHI_TYPES = frozenset({"medical_record_number", "health_plan_id"})
# Relations holding these are about people: their cities are where someone
# lives or was born, not where a ballpark or a college stands.
_PERSON_TYPES = frozenset(
    {"person_name", "email", "phone", "ssn", "credit_card", "date_of_birth",
     "medical_record_number", "health_plan_id"}
)  # fmt: skip
# How far each kind of value evidence can be trusted on its own.
_STRENGTH = {
    "email": 1.0,
    "credit_card": 1.0,
    "ssn": 0.95,
    "ip_address": 0.95,
    "medical_record_number": 0.95,
    "phone": 0.9,
    "health_plan_id": 0.9,
    "person_name": 0.85,
}
_WEAK_STRENGTH = 0.9
_NAME_ONLY_CONFIDENCE = 0.7
# A result must cover this much of a value for the value to *be* that PII.
_WHOLE_VALUE_COVER = 0.8
# Presidio scores below this are its "very weak" patterns (any 9 digits is
# an SSN at 0.05); they would make every id column look personal.
_MIN_SCORE = 0.3
# Median words per value from which a column is treated as prose.
_PROSE_WORDS = 6

#: Seconds the first :func:`analyzer` call took (imports included).
BUILD_SECONDS: float | None = None

# Words of letters only: what names and cities look like, and what hashes,
# masks and codes do not.
_PLAIN_WORDS = re.compile(r"^[^\W\d_]+(?:[ .,'-]+[^\W\d_]+)*\.?$")
# Words that make a name an organisation's rather than a person's:
# "name_full" of a table of colleges holds "Adrian College". Words that are
# also common surnames (Park, Field, Church) are left out.
_ORGANISATION_WORDS = frozenset(
    {"university", "college", "school", "academy", "institute", "seminary",
     "polytechnic", "conservatory", "hospital", "clinic", "center", "centre",
     "company", "corporation", "corp", "inc", "llc", "ltd", "club",
     "association", "society", "foundation", "stadium", "arena", "county"}
)  # fmt: skip
# The shortest number a numeric pattern can match is a five-digit ZIP code.
_MIN_NUMERIC_DIGITS = 5


@dataclass
class ColumnFinding:
    """One column judged to hold personal data."""

    relation: str
    column: str
    pii_type: str
    confidence: float
    sampled: int
    matched: int
    name_hint: bool
    detector: str


# Analyzer -------------------------------------------------------------------


@lru_cache(maxsize=1)
def analyzer() -> AnalyzerEngine:
    """The Presidio analyzer, built once per process."""
    started = time.perf_counter()
    import spacy
    import tldextract
    from presidio_analyzer import (
        AnalyzerEngine,
        Pattern,
        PatternRecognizer,
        RecognizerRegistry,
    )
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        DateRecognizer,
        EmailRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsMbiRecognizer,
        UsSsnRecognizer,
    )

    class BlankSpacyEngine(SpacyNlpEngine):
        """Tokenizer-only spaCy: all pattern recognizers need, no download."""

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    # Without a URL list tldextract uses the suffix list bundled with it
    # instead of fetching one (which fails offline, loudly and slowly).
    offline_suffixes = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        def validate_result(self, pattern_text: str) -> bool:
            return offline_suffixes(pattern_text).fqdn != ""

    custom = [
        PatternRecognizer(
            supported_entity="MEDICAL_RECORD_NUMBER",
            name="MedicalRecordNumberRecognizer",
            patterns=[Pattern("MRN", r"\bMRN[-#: ]?\d{6,10}\b", 0.85)],
            context=["mrn", "medical", "record", "chart"],
        ),
        PatternRecognizer(
            supported_entity="HEALTH_PLAN_ID",
            name="HealthPlanIdRecognizer",
            patterns=[
                Pattern("health plan id", r"\b(?:HP|HPN|MBR)-?[A-Z0-9]{8,12}\b", 0.6)
            ],
            context=["plan", "member", "beneficiary", "insurance"],
        ),
        PatternRecognizer(
            supported_entity="US_ZIP_CODE",
            name="UsZipCodeRecognizer",
            patterns=[Pattern("ZIP or ZIP+4", r"\b\d{5}(?:-\d{4})?\b", 0.3)],
            context=["zip", "postal"],
        ),
        PatternRecognizer(
            supported_entity="STREET_ADDRESS",
            name="StreetAddressRecognizer",
            patterns=[
                Pattern(
                    "number and street",
                    r"^\s*\d{1,6}\s+[a-z][a-z'.-]*(?:\s+[a-z][a-z'.-]*){1,4}"
                    r"(?:,?\s+(?:apt\.?|suite|unit|#)\s*[\w-]+)?\s*$",
                    0.4,
                )
            ],
        ),
        PatternRecognizer(
            supported_entity="TITLED_PERSON",
            name="TitledPersonRecognizer",
            # Case matters here (the registry matches case-insensitively):
            # "Dr. Ann Lee" is a name, "dr. to follow up" is not.
            patterns=[
                Pattern(
                    "title and name",
                    r"(?-i:\b(?:Dr|Mr|Mrs|Ms|Prof)\.?\s+[A-Z][a-z'-]+"
                    r"(?:\s+[A-Z][a-z'-]+)?)",
                    0.6,
                )
            ],
        ),
    ]
    registry = RecognizerRegistry(
        recognizers=[
            OfflineEmailRecognizer(),
            PhoneRecognizer(supported_regions=("US",)),
            UsSsnRecognizer(),
            CreditCardRecognizer(),
            IpRecognizer(),
            DateRecognizer(),
            UsMbiRecognizer(),
            *custom,
        ]
    )
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=BlankSpacyEngine(models=[{"lang_code": "en", "model_name": "-"}]),
    )
    global BUILD_SECONDS
    BUILD_SECONDS = time.perf_counter() - started
    return engine


# Column names ------------------------------------------------------------------

_PERSON_QUALIFIERS = frozenset(
    {"first", "last", "full", "given", "middle", "maiden", "sur", "nick",
     "patient", "customer", "contact", "person", "legal"}
)  # fmt: skip
_CLINICAL_EVENTS = frozenset(
    {"injury", "admission", "admit", "discharge", "death", "visit", "surgery",
     "procedure", "diagnosis", "treatment", "appointment"}
)  # fmt: skip
# A key such as customer_id says each row is about a person.
_PERSON_SUBJECTS = frozenset(
    {"person", "customer", "patient", "client", "user", "member", "employee",
     "student", "fan", "player", "subscriber", "contact", "guest"}
)  # fmt: skip
_KEY_WORDS = frozenset({"id", "key", "no", "num", "number"})
_DATE_WORDS = frozenset({"date", "dt"})
# A date kept in parts (birth_year, birth_month, birth_day) identifies as
# much as the whole date once the parts are joined, which any query can do.
# A year on its own does not: HIPAA Safe Harbor keeps years, and masking a
# date to its year is how this project de-identifies one.
_DATE_PARTS = {"year": "year", "yr": "year", "month": "month", "day": "day"}
# The values each part can take; an age or a count in a column so named
# falls outside and is not reported.
_DATE_PART_RANGES = {"year": (1000, 2999), "month": (1, 12), "day": (1, 31)}


def _name_tokens(column: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", column)
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def name_hint(column: str) -> str | None:
    """The PII type a column's name suggests, or None."""
    tokens = _name_tokens(column)
    words, joined = set(tokens), "".join(tokens)
    checks = (
        ("email", bool(words & {"email", "mail"}) or "emailaddress" in joined),
        ("ip_address", bool(words & {"ip", "ipv4", "ipv6"}) or "ipaddr" in joined),
        (
            "ssn",
            bool(words & {"ssn", "ssns"})
            or "socialsecurity" in joined
            or "nationalid" in joined,
        ),
        ("medical_record_number", "mrn" in words or "medicalrecord" in joined),
        (
            "health_plan_id",
            "healthplan" in joined
            or "memberid" in joined
            or bool(words & {"beneficiary", "insurance"}),
        ),
        ("credit_card", bool(words & {"card", "cc", "creditcard", "pan"})),
        (
            "phone",
            bool(words & {"phone", "telephone", "tel", "mobile", "cell", "fax"})
            or "phonenumber" in joined,
        ),
        (
            "zip_code",
            bool(words & {"zip", "zipcode", "postal", "postcode"}) or "zip" in joined,
        ),
        (
            "date_of_birth",
            bool(words & {"dob", "birthdate", "birthday"})
            or "dateofbirth" in joined
            or ("birth" in words and bool(words & (_DATE_WORDS | set(_DATE_PARTS)))),
        ),
        ("street_address", bool(words & {"street", "address", "addr"})),
        ("city", bool(words & {"city", "town"})),
        (
            "person_name",
            bool(words & {"physician", "doctor", "surgeon", "surname"})
            or bool(words & {"firstname", "lastname", "fullname", "givenname"})
            or ("name" in words and bool(words & _PERSON_QUALIFIERS)),
        ),
        (
            "date",
            bool(words & _CLINICAL_EVENTS)
            and bool(words & (_DATE_WORDS | set(_DATE_PARTS))),
        ),
    )
    return next((pii_type for pii_type, hit in checks if hit), None)


def _person_key(column: str) -> bool:
    words = set(_name_tokens(column))
    return bool(words & _PERSON_SUBJECTS) and bool(words & _KEY_WORDS)


def _date_part(column: str) -> tuple[str, tuple[str, ...]] | None:
    """The part (year, month or day) and the rest of the name (the date it
    belongs to) when the name says the column holds one part of a date."""
    tokens = _name_tokens(column)
    if set(tokens) & _DATE_WORDS:
        return None
    parts = {_DATE_PARTS[t] for t in tokens if t in _DATE_PARTS}
    if len(parts) != 1:
        return None
    return parts.pop(), tuple(t for t in tokens if t not in _DATE_PARTS)


# Values -----------------------------------------------------------------------


def _as_text(value: Any) -> str:
    if isinstance(value, datetime):
        midnight = value.time() == datetime.min.time() and value.tzinfo is None
        return value.date().isoformat() if midnight else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _kind(series: pd.Series, values: list[Any]) -> str:
    """numeric, temporal, boolean or text: what evidence a column can give."""
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "temporal"
    # Object columns (Postgres results, pyarrow dates) say it in their values.
    if values and all(isinstance(v, bool) for v in values):
        return "boolean"
    if values and all(isinstance(v, int | float | Decimal) for v in values):
        return "numeric"
    if values and all(isinstance(v, date) for v in values):
        return "temporal"
    return "text"


_ENTITIES_BY_KIND = {
    # A card number stored as a number still passes the Luhn check; a ZIP
    # stored as a number is caught only with a name that says so.
    "numeric": ["CREDIT_CARD", "US_ZIP_CODE"],
    "temporal": ["DATE_TIME"],
    "text": sorted(ENTITY_TYPES),
}


@dataclass
class _Evidence:
    sampled: int
    whole: Counter[str]
    prose_hits: int
    prose_entities: Counter[str]
    prose: bool
    plain_words: int
    person_like: int
    integers: Counter[int]
    kind: str

    def best(self) -> tuple[str | None, int]:
        if not self.whole:
            return None, 0
        # Ties go to the entity listed first, so the verdict is stable.
        order = list(ENTITY_TYPES)
        entity = min(self.whole, key=lambda e: (-self.whole[e], order.index(e)))
        return entity, self.whole[entity]


@lru_cache(maxsize=200_000)
def _recognised(text: str, kind: str) -> tuple[RecognizerResult, ...]:
    """Presidio's findings of weight in one value, remembered per process.

    The same values stand in many relations (a player id or a team name in
    the staging view, the intermediate ones and every mart built on them),
    and Presidio's answer depends on the value and the entities asked for
    alone, so each is analysed once per scan rather than once per column.
    """
    entities = _ENTITIES_BY_KIND[kind]
    return tuple(
        r
        for r in analyzer().analyze(text, language="en", entities=entities)
        if r.score >= _MIN_SCORE
    )


def _analyze(texts: Counter[str], kind: str, floor: float) -> _Evidence:
    """Run Presidio over the sample. ``floor`` is the smallest share of
    whole-value matches that could flag the column."""
    whole: Counter[str] = Counter()
    prose_entities: Counter[str] = Counter()
    prose_hits = 0
    words = [len(t.split()) for t in texts.elements()]
    prose = kind == "text" and bool(words) and statistics.median(words) >= _PROSE_WORDS
    total = remaining = sum(texts.values())
    # Most frequent first, so that the floor is out of reach after few calls.
    for text, count in sorted(texts.items(), key=lambda tc: (-tc[1], tc[0])):
        # Once no kind of value can reach the floor, the rest of the sample
        # cannot change the verdict: most columns of a warehouse hold no PII,
        # and this spares Presidio most of their values. Prose needs every
        # value, for the share of them that carry PII.
        best = max(whole.values(), default=0)
        if not prose and (best + remaining) / total < floor:
            break
        remaining -= count
        # Stats tables are mostly small numbers: skipping those no pattern can
        # match saves over half the Presidio calls on them, and no verdict.
        if kind == "numeric" and _digits(text) < _MIN_NUMERIC_DIGITS:
            continue
        results = _recognised(text, kind)
        covering = _covering(results, text)
        if covering is not None:
            whole[covering.entity_type] += count
        found = {r.entity_type for r in results} & _PROSE_ENTITIES
        if prose and found:
            prose_hits += count
            prose_entities.update(dict.fromkeys(found, count))
    plain_texts = [t for t in texts if _PLAIN_WORDS.match(t.strip())]
    plain = sum(texts[t] for t in plain_texts)
    person_like = sum(texts[t] for t in plain_texts if not _organisation(t))
    integers = Counter(
        {int(t): c for t, c in texts.items() if t.isascii() and t.isdigit()}
    )
    return _Evidence(
        sum(texts.values()),
        whole,
        prose_hits,
        prose_entities,
        prose,
        plain,
        person_like,
        integers,
        kind,
    )


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _organisation(text: str) -> bool:
    return any(w in _ORGANISATION_WORDS for w in re.split(r"[^a-z]+", text.lower()))


def _covering(results: list[RecognizerResult], text: str) -> RecognizerResult | None:
    length = len(text.strip())
    if not length:
        return None
    whole = [r for r in results if (r.end - r.start) >= _WHOLE_VALUE_COVER * length]
    if not whole:
        return None
    order = list(ENTITY_TYPES)
    return min(whole, key=lambda r: (-r.score, order.index(r.entity_type)))


# Verdicts ---------------------------------------------------------------------


def _confidence(share: float, hinted: bool, strength: float) -> float:
    base = 0.3 + 0.7 * share if hinted else share
    return round(min(1.0, base) * strength, 3)


def _verdict(
    relation: str,
    column: str,
    evidence: _Evidence,
    *,
    min_share: float,
    hinted_share: float,
    free_text_share: float,
    phi_context: bool,
    person_context: bool,
    finer_dates: frozenset[tuple[str, ...]],
) -> ColumnFinding | None:
    hint = name_hint(column)
    n = evidence.sampled

    def finding(pii_type, confidence, matched, detector) -> ColumnFinding:
        hinted = hint == pii_type
        return ColumnFinding(
            relation, column, pii_type, confidence, n, matched, hinted, detector
        )

    prose_share = evidence.prose_hits / n
    if evidence.prose and prose_share >= free_text_share:
        top = [e for e, _ in evidence.prose_entities.most_common(3)]
        return finding(
            "free_text_pii",
            round(min(1.0, 0.5 + prose_share / 2), 3),
            evidence.prose_hits,
            "presidio:" + "+".join(sorted(top)),
        )

    entity, matched = evidence.best()
    if entity is not None:
        pii_type = ENTITY_TYPES[entity]
        share = matched / n
        if pii_type == "date" and hint == "date_of_birth":
            pii_type = "date_of_birth"
        hinted = hint == pii_type
        if pii_type in _WEAK_TYPES:
            corroborated = hinted or (pii_type == "date" and phi_context)
            if corroborated and share >= (hinted_share if hinted else min_share):
                return finding(
                    pii_type,
                    _confidence(share, hinted, _WEAK_STRENGTH),
                    matched,
                    f"presidio:{entity}",
                )
        elif share >= (hinted_share if hinted else min_share):
            return finding(
                pii_type,
                _confidence(share, hinted, _STRENGTH.get(pii_type, _WEAK_STRENGTH)),
                matched,
                f"presidio:{entity}",
            )

    part, belongs_to = _date_part(column) or (None, ())
    if (
        hint in {"date_of_birth", "date"}
        and part is not None
        and (part != "year" or belongs_to in finer_dates)
    ):
        low, high = _DATE_PART_RANGES[part]
        fitting = sum(c for v, c in evidence.integers.items() if low <= v <= high)
        if fitting >= min_share * n:
            return finding(hint, _NAME_ONLY_CONFIDENCE, fitting, "column-name+range")

    # Only what no pattern can see is taken on the name alone, and only when
    # the values look like words (a masked or hashed column does not) and,
    # for a person, not like the names of organisations.
    if evidence.kind != "text":
        return None
    if hint == "person_name" and evidence.person_like >= min_share * n:
        return finding(hint, _NAME_ONLY_CONFIDENCE, 0, "column-name")
    if hint == "city" and person_context and evidence.plain_words >= min_share * n:
        return finding(hint, _NAME_ONLY_CONFIDENCE, 0, "column-name")
    return None


def _check_share(value: float, argument: str) -> None:
    if not 0 < value <= 1:
        msg = f"{argument} must be a share between 0 (exclusive) and 1, got {value!r}"
        raise ConfigError(msg)


def _sample(series: pd.Series, sample_rows: int, seed: int) -> list[Any]:
    values = series.dropna()
    if len(values) > sample_rows:
        values = values.sample(n=sample_rows, random_state=seed)
    return values.tolist()


def scan_frame(
    relation: str,
    frame: pd.DataFrame,
    *,
    sample_rows: int = 200,
    seed: int = 0,
    min_share: float = 0.6,
    hinted_share: float = 0.2,
    free_text_share: float = 0.2,
) -> list[ColumnFinding]:
    """Classify every column of ``frame``; return those holding PII.

    At most ``sample_rows`` non-null values per column are examined, drawn
    with ``seed`` so the same frame always gives the same findings. A column
    is flagged when at least ``min_share`` of the sample is one kind of PII
    (``hinted_share`` when the column name agrees), and a prose column when
    at least ``free_text_share`` of its values contain PII.
    """
    if isinstance(sample_rows, bool) or not isinstance(sample_rows, int):
        msg = f"sample_rows must be a whole number of rows, got {sample_rows!r}"
        raise ConfigError(msg)
    if sample_rows < 1:
        msg = f"sample_rows must be at least 1, got {sample_rows}"
        raise ConfigError(msg)
    _check_share(min_share, "min_share")
    _check_share(hinted_share, "hinted_share")
    _check_share(free_text_share, "free_text_share")

    evidence: dict[str, _Evidence] = {}
    for name in frame.columns:
        values = _sample(frame[name], sample_rows, seed)
        kind = _kind(frame[name], values)
        if not values or kind == "boolean":
            continue
        texts = Counter(_as_text(v) for v in values)
        # A name hint lowers the share needed, for whichever type it names.
        floor = hinted_share if name_hint(str(name)) is not None else min_share
        evidence[str(name)] = _analyze(texts, kind, floor)

    parts = [_date_part(str(c)) for c in frame.columns]
    options = {
        "min_share": min_share,
        "hinted_share": hinted_share,
        "free_text_share": free_text_share,
        # Dates with a month or a day column beside their year column.
        "finer_dates": frozenset(p[1] for p in parts if p and p[0] != "year"),
    }
    # Context comes from the columns found without it, so no column can
    # vouch for itself.
    first = {
        name: _verdict(
            relation, name, ev, phi_context=False, person_context=False, **options
        )
        for name, ev in evidence.items()
    }
    found_types = {f.pii_type for f in first.values() if f is not None}
    context = {
        "phi_context": bool(found_types & _PHI_TYPES),
        "person_context": bool(found_types & _PERSON_TYPES)
        or any(_person_key(str(c)) for c in frame.columns),
    }
    findings = []
    for name, ev in evidence.items():
        found = first[name]
        if found is None and any(context.values()):
            found = _verdict(relation, name, ev, **context, **options)
        if found is not None:
            findings.append(found)
    return findings


# Warehouses -------------------------------------------------------------------


def _scan_options(sample_rows: int, seed: int, options: dict[str, float]) -> dict:
    return {"sample_rows": sample_rows, "seed": seed, **options}


class Findings(list):
    """The findings of one scan and what it read: the report names the
    target and schemas it covers, so that a partial scan, or one of another
    warehouse, is not taken for this one's."""

    def __init__(
        self,
        items: Iterable[ColumnFinding] = (),
        *,
        target: str,
        schemas: Sequence[str],
        relations: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(items)
        self.target = target
        self.schemas = list(schemas)
        self.relations = dict(Counter(schema for schema, _ in relations))
        self.scanned_at = datetime.now(UTC).isoformat(timespec="microseconds")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def scan_duckdb(
    path: Path,
    schemas: Sequence[str],
    *,
    sample_rows: int = 200,
    seed: int = 0,
    **options: float,
) -> list[ColumnFinding]:
    """Scan every table and view of ``schemas`` in the DuckDB file ``path``.

    Rows are sampled by ordering on a seeded hash of the whole row, so the
    sample does not depend on thread scheduling or storage order.
    """
    import duckdb

    if not Path(path).is_file():
        msg = f"path {path} is not a DuckDB file: run `diamond ingest` first"
        raise ConfigError(msg)
    if not schemas:
        msg = "schemas must name at least one schema to scan"
        raise ConfigError(msg)
    findings: list[ColumnFinding] = []
    with duckdb.connect(str(path), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (select unnest(?)) order by 1, 2",
            [list(schemas)],
        ).fetchall()
        for schema, table in relations:
            frame = con.execute(
                f"select * from {_quote(schema)}.{_quote(table)} as _row "
                "order by hash(_row, ?) limit ?",
                [seed, sample_rows],
            ).df()
            findings += scan_frame(
                f"{schema}.{table}", frame, **_scan_options(sample_rows, seed, options)
            )
    return Findings(findings, target="duckdb", schemas=schemas, relations=relations)


def scan_postgres(
    dsn: str,
    schemas: Sequence[str],
    *,
    sample_rows: int = 200,
    seed: int = 0,
    **options: float,
) -> list[ColumnFinding]:
    """Scan every table and view of ``schemas`` in the Postgres database
    ``dsn`` names, sampling rows by a seeded hash of each row's text."""
    import psycopg2
    from psycopg2 import sql

    if not schemas:
        msg = "schemas must name at least one schema to scan"
        raise ConfigError(msg)
    try:
        con = psycopg2.connect(dsn)
    except psycopg2.OperationalError as exc:
        msg = f"cannot connect to Postgres with dsn {dsn!r}: {exc}".strip()
        raise DiamondError(msg) from exc
    findings: list[ColumnFinding] = []
    try:
        con.set_session(readonly=True)
        with con.cursor() as cur:
            cur.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema = any(%s) order by 1, 2",
                (list(schemas),),
            )
            relations = cur.fetchall()
            for schema, table in relations:
                cur.execute(
                    sql.SQL(
                        "select * from {}.{} as _row "
                        "order by md5(_row::text || %s) limit %s"
                    ).format(sql.Identifier(schema), sql.Identifier(table)),
                    (str(seed), sample_rows),
                )
                frame = pd.DataFrame(
                    cur.fetchall(), columns=[d.name for d in cur.description]
                )
                findings += scan_frame(
                    f"{schema}.{table}",
                    frame,
                    **_scan_options(sample_rows, seed, options),
                )
    finally:
        con.close()
    return Findings(findings, target="postgres", schemas=schemas, relations=relations)


# Output -----------------------------------------------------------------------

_TABLE_COLUMNS = (
    ("relation", "varchar", "text"),
    ("column_name", "varchar", "text"),
    ("pii_type", "varchar", "text"),
    ("confidence", "double", "double precision"),
    ("sampled", "integer", "integer"),
    ("matched", "integer", "integer"),
    ("name_hint", "boolean", "boolean"),
    ("detector", "varchar", "text"),
)


def _rows(findings: Iterable[ColumnFinding]) -> list[tuple]:
    return [
        (f.relation, f.column, f.pii_type, f.confidence, f.sampled, f.matched,
         f.name_hint, f.detector)
        for f in findings
    ]  # fmt: skip


def report(findings: Sequence[ColumnFinding]) -> dict[str, Any]:
    """The findings and their counts as a JSON-ready dict."""
    by_type = Counter(f.pii_type for f in findings)
    scope: dict[str, Any] = {}
    if isinstance(findings, Findings):
        # What was read, and by which run: the governance report checks the
        # report covers every schema of this target's current build.
        scope = {
            "target": findings.target,
            "schemas": findings.schemas,
            "relations_scanned": findings.relations,
            "scanned_at": findings.scanned_at,
            "run_id": os.environ.get("DIAMOND_RUN_ID"),
        }
    return {
        **scope,
        "summary": {
            "columns": len(findings),
            "relations": len({f.relation for f in findings}),
            "by_type": dict(sorted(by_type.items())),
        },
        "findings": [asdict(f) for f in findings],
    }


def write_report(findings: Sequence[ColumnFinding], path: Path) -> Path:
    """Write the JSON report to ``path`` (parents created) and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report(findings), indent=2) + "\n", encoding="utf-8")
    return path


def write_table_duckdb(
    con: Any,
    findings: Sequence[ColumnFinding],
    schema: str = "governance",
    table: str = "pii_classification",
) -> None:
    """Replace ``schema.table`` with the findings in one transaction."""
    target = f"{_quote(schema)}.{_quote(table)}"
    columns = ", ".join(f"{name} {duck}" for name, duck, _ in _TABLE_COLUMNS)
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {_quote(schema)}")
        con.execute(f"create or replace table {target} ({columns})")
        rows = _rows(findings)
        if rows:
            con.executemany(
                f"insert into {target} values ({', '.join('?' * len(_TABLE_COLUMNS))})",
                rows,
            )
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def write_table_postgres(
    con: Any,
    findings: Sequence[ColumnFinding],
    schema: str = "governance",
    table: str = "pii_classification",
) -> None:
    """Replace ``schema.table`` with the findings in one transaction of the
    psycopg2 connection ``con``; readers see the old table until commit."""
    from psycopg2 import sql
    from psycopg2.extras import execute_values

    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(pg))
        for name, _, pg in _TABLE_COLUMNS
    )
    with con, con.cursor() as cur:
        cur.execute(
            sql.SQL("create schema if not exists {}").format(sql.Identifier(schema))
        )
        cur.execute(sql.SQL("drop table if exists {}").format(target))
        cur.execute(sql.SQL("create table {} ({})").format(target, columns))
        rows = _rows(findings)
        if rows:
            execute_values(
                cur, sql.SQL("insert into {} values %s").format(target), rows
            )
