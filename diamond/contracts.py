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


class ValidationFailed(IngestError):
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
        msg = (
            f"{spec.file} line {line}: bytes {bad} are not valid UTF-8. "
            "Re-save the file as UTF-8 (or restore the original release)."
        )
        raise IngestError(msg) from exc


def check_header(spec: TableSpec, text: str) -> list[str]:
    """Return the header fields, or stop with what is missing or unexpected."""
    first = text.split("\n", 1)[0].strip("\r\ufeff ")
    if not first:
        msg = (
            f"{spec.file} is empty: expected a header line "
            f"({','.join(spec.headers)}) and at least one row."
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
            read_options=pacsv.ReadOptions(use_threads=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise IngestError(_explain_parse_error(spec, header, str(exc))) from exc
    if table.num_rows == 0:
        msg = f"{spec.file} has a header but no rows: the table cannot be empty."
        raise IngestError(msg)
    table = table.select(list(spec.headers))
    return table.rename_columns(list(spec.column_names))


def _explain_parse_error(spec: TableSpec, header: list[str], detail: str) -> str:
    where = spec.file
    row = _ARROW_ROW_RE.search(detail)
    column = re.search(r"column #(\d+)", detail)
    if row:
        # Arrow counts data rows from 1 after the header; people count lines.
        where += f" line {int(row.group(1)) + 1}"
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


def _suite_for(spec: TableSpec) -> list:
    import great_expectations.expectations as gxe

    expectations: list = [
        gxe.ExpectTableColumnsToMatchOrderedList(column_list=list(spec.column_names)),
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


def _orphans(
    spec: TableSpec, table: pa.Table, known_keys: dict[tuple[str, str], set]
) -> tuple[Any, list]:
    """A frame holding, per reference, the values that do not resolve.

    Passing the referenced keys to great_expectations as a value set costs
    seconds per table; a column that is null where the reference resolves
    lets it check the same rule in milliseconds and still report the
    offending values.
    """
    import great_expectations.expectations as gxe
    import pandas as pd

    frame = pd.DataFrame(index=range(table.num_rows))
    expectations = []
    for column, target_table, target in spec.references:
        known = known_keys.get((target_table, target))
        if known is None:
            continue
        values = table.column(column).to_pandas()
        name = f"{column}_not_in_{target_table}"
        frame[name] = values.where(~values.isin(known) & values.notna())
        expectations.append(
            gxe.ExpectColumnValuesToBeNull(column=name, mostly=REFERENCE_MOSTLY)
        )
    return frame, expectations


def _describe_failure(spec: TableSpec, result: Any) -> str:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("value_set", "batch_id")}
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


def validate_tables(files: dict[str, bytes], checksums: dict[str, str]) -> tuple[
    list[ValidatedTable], dict[str, Any]
]:
    """Parse and validate every table of a release; stop at the first failure.

    Returns the tables in load order and a JSON-ready record of every
    great_expectations result.
    """
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    datasource = context.data_sources.add_pandas("lahman_raw")
    known_keys: dict[tuple[str, str], set] = {}
    validated: list[ValidatedTable] = []
    report: dict[str, Any] = {"success": True, "tables": {}}
    for spec in load_order():
        table = parse_table(spec, files[spec.file])
        frame = table.to_pandas()
        asset = datasource.add_dataframe_asset(spec.name)
        batch = asset.add_batch_definition_whole_dataframe("release").get_batch(
            batch_parameters={"dataframe": frame}
        )
        suite = gx.ExpectationSuite(
            name=f"raw.{spec.name}", expectations=_suite_for(spec)
        )
        results = [batch.validate(suite)]
        orphans, reference_checks = _orphans(spec, table, known_keys)
        if reference_checks:
            ref_batch = (
                datasource.add_dataframe_asset(f"{spec.name}__references")
                .add_batch_definition_whole_dataframe("release")
                .get_batch(batch_parameters={"dataframe": orphans})
            )
            results.append(
                ref_batch.validate(
                    gx.ExpectationSuite(
                        name=f"raw.{spec.name}.references",
                        expectations=reference_checks,
                    )
                )
            )
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
            "types_enforced_by_parser": {
                c.name: c.type for c in spec.columns
            },
        }
        if not success:
            failures = [
                _describe_failure(spec, outcome)
                for r in results
                for outcome in r.results
                if not outcome.success
            ]
            report["success"] = False
            report["tables"][spec.name]["failures"] = failures
            msg = (
                "; ".join(failures)
                + ". Fix the file or restore the original release; nothing "
                "was loaded."
            )
            raise ValidationFailed(msg, report)
        for table_name, column in _REFERENCED:
            if table_name == spec.name:
                known_keys[(table_name, column)] = set(
                    table.column(column).drop_null().unique().to_pylist()
                )
        validated.append(ValidatedTable(spec, table, checksums[spec.file]))
        log.debug("validated %s (%d rows)", spec.name, table.num_rows)
    return validated, report


