"""Parse and validate each CSV of a release against its raw contract.

Parsing enforces the header and the column types (a value that does not fit
its type stops the load with the file, line and column). great_expectations
then checks what a type cannot: non-empty tables, primary keys present and
unique, and references to other tables. Its results are kept as evidence.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from diamond.errors import IngestError
from diamond.lahman import TableSpec, load_order

log = logging.getLogger(__name__)

ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
}

#: Share of rows whose references must resolve. The published release has a
#: handful of orphans (an Appearances row for a player missing from People),
#: so referential checks catch a wrong or truncated file, not a single orphan.
REFERENCE_MOSTLY = 0.999

_ARROW_ROW_RE = re.compile(r"Row #(\d+)")
_REFERENCED = sorted({(t, c) for s in load_order() for _, t, c in s.references})


class ContractError(IngestError):
    """A table broke its contract; ``report`` holds every result so far."""

    def __init__(self, message: str, report: dict[str, Any]) -> None:
        super().__init__(message)
        self.report = report


@dataclass
class ValidatedTable:
    """A table that met its contract, ready to load."""

    spec: TableSpec
    data: pa.Table
    sha256: str

    @property
    def rows(self) -> int:
        return self.data.num_rows


def _decode_check(spec: TableSpec, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.end].hex(" ")
        where = f"{spec.file} line {line}"
        column = _column_at(raw, exc.start)
        if column:
            where += f", column {column}"
        msg = (
            f"{where}: bytes {bad} are not valid UTF-8. "
            "Re-save the file as UTF-8 (or restore the original release)."
        )
        raise IngestError(msg) from exc


def _column_at(raw: bytes, offset: int) -> str | None:
    """Header name of the field holding byte ``offset``, if it can be told.

    Counting commas before the offset is exact for unquoted lines; a line
    with quotes before the offset may hold commas inside a value, so no
    column is named for it.
    """
    start = raw.rfind(b"\n", 0, offset) + 1
    before = raw[start:offset]
    if start == 0 or b'"' in before:
        return None
    header = raw.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    fields = [h.strip().strip('"\r\ufeff') for h in header.split(",")]
    index = before.count(b",")
    return fields[index] if index < len(fields) else None


def check_header(spec: TableSpec, text: str) -> list[str]:
    """Return the header fields, or stop with what is missing or unexpected."""
    first = text.split("\n", 1)[0].strip("\r\ufeff ")
    if not first:
        msg = (
            f"{spec.file} is empty: expected a header line "
            f"({','.join(spec.headers)}) and at least one row. Restore the "
            "file from the original release; nothing was loaded."
        )
        raise IngestError(msg)
    header = [h.strip().strip('"') for h in first.split(",")]
    missing = [h for h in spec.headers if h not in header]
    unexpected = [h for h in header if h not in spec.headers]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if missing or unexpected or duplicated:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unexpected:
            parts.append(f"unexpected column(s) {', '.join(unexpected)}")
        if duplicated:
            parts.append(f"repeated column(s) {', '.join(duplicated)}")
        msg = (
            f"{spec.file} line 1: {'; '.join(parts)}. The contract expects "
            f"{','.join(spec.headers)}. Rename the columns back, or add the "
            "new layout to diamond/lahman.py and the dbt sources together."
        )
        raise IngestError(msg)
    return header


def parse_table(spec: TableSpec, raw: bytes) -> pa.Table:
    """Parse one CSV file into an Arrow table with the contract's types."""
    text = _decode_check(spec, raw)
    header = check_header(spec, text)
    types = {c.header: ARROW_TYPES[c.type] for c in spec.columns}
    try:
        table = pacsv.read_csv(
            io.BytesIO(raw),
            # Serial reading costs nothing at these sizes and is the only
            # mode in which Arrow reports the row of a bad value.
            read_options=pacsv.ReadOptions(use_threads=False),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                # Only an empty field is missing. Arrow's default null
                # markers include "NA", the National Association's league
                # code in 1871-1875.
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise IngestError(_explain_parse_error(spec, header, str(exc))) from exc
    if table.num_rows == 0:
        msg = (
            f"{spec.file} has a header but no rows: the table cannot be empty. "
            "Restore the file from the original release; nothing was loaded."
        )
        raise IngestError(msg)
    table = table.select(list(spec.headers))
    return table.rename_columns(list(spec.column_names))


def _explain_parse_error(spec: TableSpec, header: list[str], detail: str) -> str:
    where = spec.file
    row = _ARROW_ROW_RE.search(detail)
    column = re.search(r"column #(\d+)", detail)
    if row:
        # Arrow numbers records from 1 starting with the header, so its row
        # is the line number (no value in the release spans two lines).
        where += f" line {int(row.group(1))}"
    if column:
        index = int(column.group(1))
        if index < len(header):
            name = header[index]
            expected = spec.columns[spec.headers.index(name)].type
            where += f", column {name} (expected {expected})"
    return (
        f"{where}: {detail.strip()}. Fix the value in the file, or restore the "
        "original release; nothing was loaded."
    )


def _suite_for(spec: TableSpec, derived: list[str]) -> list:
    import great_expectations.expectations as gxe

    expectations: list = [
        gxe.ExpectTableColumnsToMatchOrderedList(
            column_list=[*spec.column_names, *derived]
        ),
        gxe.ExpectTableRowCountToBeBetween(min_value=1),
    ]
    if spec.primary_key:
        for key in spec.primary_key:
            if key not in spec.nullable_key:
                expectations.append(gxe.ExpectColumnValuesToNotBeNull(column=key))
        if len(spec.primary_key) == 1:
            expectations.append(
                gxe.ExpectColumnValuesToBeUnique(column=spec.primary_key[0])
            )
        else:
            expectations.append(
                gxe.ExpectCompoundColumnsToBeUnique(
                    column_list=list(spec.primary_key),
                    ignore_row_if="never",
                )
            )
    return expectations


def _reference_checks(
    spec: TableSpec, table: pa.Table, known_keys: dict[tuple[str, str], pa.Array]
) -> tuple[dict[str, pa.Array], list]:
    """Per reference, a column of the values that do not resolve.

    Passing the referenced keys to great_expectations as a value set costs
    seconds per table; a derived column that is null where the reference
    resolves lets it check the same rule in milliseconds and still report
    the offending values. The columns ride along in the table's own batch,
    after the contract's columns, so each table is one validation.
    """
    import great_expectations.expectations as gxe
    import pyarrow.compute as pc

    columns: dict[str, pa.Array] = {}
    expectations = []
    for column, target_table, target in spec.references:
        known = known_keys.get((target_table, target))
        if known is None:
            continue
        values = table.column(column)
        resolves = pc.or_kleene(pc.is_in(values, value_set=known), pc.is_null(values))
        name = f"{column}_not_in_{target_table}"
        columns[name] = pc.if_else(resolves, pa.scalar(None, values.type), values)
        expectations.append(
            gxe.ExpectColumnValuesToBeNull(column=name, mostly=REFERENCE_MOSTLY)
        )
    return columns, expectations


def _describe_failure(spec: TableSpec, result: Any) -> str:
    config = result.expectation_config
    kwargs = {
        k: v for k, v in config.kwargs.items() if k not in ("value_set", "batch_id")
    }
    detail = result.result or {}
    sample = detail.get("partial_unexpected_list") or []
    count = detail.get("unexpected_count")
    what = f"{config.type}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"
    text = f"{spec.file}: failed {what}"
    if count is not None:
        text += f" on {count} row(s)"
    if sample:
        text += f", e.g. {sample[:5]}"
    return text


def _duplicate_key_lines(spec: TableSpec, frame: Any, limit: int = 10) -> str:
    """Where the primary key repeats, as text such as ``lines 3, 9``.

    Empty when the key does not repeat. Line numbers count the header as
    line 1, as an editor does.
    """
    if not spec.primary_key:
        return ""
    repeated = frame.duplicated(subset=list(spec.primary_key), keep=False)
    lines = [int(i) + 2 for i in frame.index[repeated][:limit]]
    if not lines:
        return ""
    more = " and more" if int(repeated.sum()) > limit else ""
    key = ", ".join(spec.primary_key)
    return (
        f"{spec.file}: primary key ({key}) repeats at lines "
        f"{', '.join(map(str, lines))}{more}"
    )


def validate_tables(
    files: dict[str, bytes], checksums: dict[str, str]
) -> tuple[list[ValidatedTable], dict[str, Any]]:
    """Parse and validate every table of a release; stop at the first failure.

    Returns the tables in load order and a JSON-ready record of every
    great_expectations result.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    # great_expectations logs at INFO and draws a progress bar per
    # validation; neither helps someone reading ingest's own progress.
    for name in [*logging.root.manager.loggerDict, "great_expectations"]:
        if name.startswith("great_expectations"):
            logging.getLogger(name).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    # One asset and batch definition serve every frame: adding an asset per
    # table rewrites the context's configuration each time and costs more
    # than the validation itself.
    batches = (
        context.data_sources.add_pandas("lahman_raw")
        .add_dataframe_asset("release_table")
        .add_batch_definition_whole_dataframe("in_memory")
    )
    known_keys: dict[tuple[str, str], pa.Array] = {}
    validated: list[ValidatedTable] = []
    report: dict[str, Any] = {"success": True, "tables": {}}
    for spec in load_order():
        table = parse_table(spec, files[spec.file])
        derived, reference_checks = _reference_checks(spec, table, known_keys)
        frame = table.to_pandas()
        for name, values in derived.items():
            frame[name] = values.to_pandas()
        batch = batches.get_batch(batch_parameters={"dataframe": frame})
        suite = gx.ExpectationSuite(
            name=f"raw.{spec.name}",
            expectations=[*_suite_for(spec, list(derived)), *reference_checks],
        )
        # A pass/fail verdict is all a passing table needs; a failing one is
        # validated again with a summary that names the offending values.
        results = [batch.validate(suite, result_format="BOOLEAN_ONLY")]
        if not results[0].success:
            results = [batch.validate(suite, result_format="SUMMARY")]
        success = all(r.success for r in results)
        evaluated = sum(r.statistics["evaluated_expectations"] for r in results)
        passed = sum(r.statistics["successful_expectations"] for r in results)
        report["tables"][spec.name] = {
            "file": spec.file,
            "rows": table.num_rows,
            "sha256": checksums[spec.file],
            "success": success,
            "evaluated_expectations": evaluated,
            "successful_expectations": passed,
            "types_enforced_by_parser": {c.name: c.type for c in spec.columns},
        }
        if not success:
            failures = [
                _describe_failure(spec, outcome)
                for r in results
                for outcome in r.results
                if not outcome.success
            ]
            duplicates = _duplicate_key_lines(spec, frame)
            if duplicates:
                failures.append(duplicates)
            report["success"] = False
            report["tables"][spec.name]["failures"] = failures
            msg = (
                "; ".join(failures)
                + ". Fix the file or restore the original release; nothing "
                "was loaded."
            )
            raise ContractError(msg, report)
        for table_name, column in _REFERENCED:
            if table_name == spec.name:
                known_keys[(table_name, column)] = pa.array(
                    table.column(column).drop_null().unique()
                )
        validated.append(ValidatedTable(spec, table, checksums[spec.file]))
        log.debug("validated %s (%d rows)", spec.name, table.num_rows)
    return validated, report


def parse_release(
    files: dict[str, bytes], checksums: dict[str, str]
) -> list[ValidatedTable]:
    """Parse every table (header and types enforced) without great_expectations.

    Only for a release whose validation report is already known to pass.
    """
    return [
        ValidatedTable(spec, parse_table(spec, files[spec.file]), checksums[spec.file])
        for spec in load_order()
    ]
