"""OpenLineage lineage for diamond: ingest, the dbt build and their datasets.

``naming`` holds the job and dataset naming rules every module follows,
``events`` turns dbt artifacts and ingest results into run events,
``columns`` resolves column-level lineage from compiled SQL, ``transport``
builds the OpenLineage client the events go through, and ``emit`` ties
them together for the ``diamond`` command.
"""
