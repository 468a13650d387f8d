"""Governance tooling for diamond: lineage, privacy and policy around the warehouse."""
