"""Load one raw table into Postgres the way ingest does (parse, COPY).

The Postgres side of the ingest-versus-seed comparison: a full `dbt seed`
there takes many minutes, so both sides load one large table. This runs
ingest's own parser and COPY path; great_expectations validation is left
out because `dbt seed` validates nothing either.

    python bench/load_one_table.py batting
"""

from __future__ import annotations

import sys

from diamond.contracts import ValidatedTable, parse_table
from diamond.lahman import TABLES_BY_NAME
from diamond.loaders.postgres import PostgresLoader
from diamond.source import open_release


def main(name: str) -> None:
    spec = TABLES_BY_NAME[name]
    release = open_release()
    table = ValidatedTable(
        spec, parse_table(spec, release.files[spec.file]), release.checksums[spec.file]
    )
    loader = PostgresLoader()
    con = loader.connect()
    try:
        with con, con.cursor() as cur:
            loader.replace_table(cur, table)
    finally:
        con.close()
    print(f"loaded {table.rows} rows into raw.{name}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "batting")
