"""Load CSV files into a new DuckDB file with nothing but DuckDB's reader.

The floor under any DuckDB ingest on this machine: one fresh process, no
contract, no validation, no synthetic data, no lineage or audit, every type
left to DuckDB's sniffer. The ingest benchmark times it on the very files
`dbt seed` loads, so the table shows how much of a gap to `dbt seed` any
loader could reach here.

    python bench/duckdb_floor.py FOLDER_OF_CSV_FILES DATABASE_FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb


def main(folder: Path, database: Path) -> None:
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SystemExit(f"no .csv files in {folder}")
    con = duckdb.connect(str(database))
    try:
        for path in files:
            # A literal, not a bound parameter: binding one makes DuckDB
            # import pandas, which would raise the floor by a third of a
            # second.
            quoted = str(path).replace("'", "''")
            con.execute(
                f'create table "{path.stem}" as '
                f"select * from read_csv('{quoted}', header = true)"
            )
    finally:
        con.close()
    print(f"loaded {len(files)} files into {database}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip().splitlines()[-1].strip())
    main(Path(sys.argv[1]), Path(sys.argv[2]))
