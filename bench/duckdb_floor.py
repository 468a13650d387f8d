"""Load CSV files into a new DuckDB file with nothing but DuckDB's reader.

The floor under any DuckDB ingest on this machine: one fresh process, no
contract, no validation, no synthetic data, no lineage or audit. Without a
types file every type is left to DuckDB's sniffer; with one (a JSON object
of file stem to ``{header: type}``, the types ``dbt seed`` is given) the
sniffer is switched off and each column is read as its declared type,
which is the cheapest way DuckDB has to read a CSV file. The ingest
benchmark times both on the very files ``dbt seed`` loads, so its table
shows how much of a gap to ``dbt seed`` any loader could reach here.

    python bench/duckdb_floor.py FOLDER_OF_CSV_FILES DATABASE_FILE [TYPES_JSON]
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import duckdb


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_csv_call(path: Path, types: dict[str, str] | None) -> str:
    # Literals, not bound parameters: binding one makes DuckDB import
    # pandas, which would raise the floor by a third of a second.
    if types is None:
        return f"read_csv({_quote(str(path))}, header = true)"
    with path.open(newline="", encoding="utf-8") as handle:
        headers = next(csv.reader(handle))
    missing = [h for h in headers if h not in types]
    if missing:
        raise SystemExit(f"{path}: no type given for columns {missing}")
    # DuckDB takes the columns in file order, so the header decides it.
    columns = ", ".join(f"{_quote(h)}: {_quote(types[h])}" for h in headers)
    return (
        f"read_csv({_quote(str(path))}, header = true, auto_detect = false, "
        f"columns = {{{columns}}})"
    )


def main(folder: Path, database: Path, types_file: Path | None) -> None:
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SystemExit(f"no .csv files in {folder}")
    types = json.loads(types_file.read_text()) if types_file else None
    con = duckdb.connect(str(database))
    try:
        for path in files:
            table_types = None if types is None else types[path.stem]
            con.execute(
                f'create table "{path.stem}" as '
                f"select * from {read_csv_call(path, table_types)}"
            )
    finally:
        con.close()
    print(f"loaded {len(files)} files into {database}")


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__.strip().splitlines()[-1].strip())
    main(
        Path(sys.argv[1]),
        Path(sys.argv[2]),
        Path(sys.argv[3]) if len(sys.argv) == 4 else None,
    )
