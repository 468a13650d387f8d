"""Privacy tooling for diamond: finding personal data in the warehouse.

``scan`` samples the tables and views of a DuckDB or Postgres warehouse,
classifies each column against a fixed PII vocabulary with Microsoft
Presidio's pattern recognizers and column-name evidence, and writes the
verdicts as a JSON report and as a governance table.
"""
