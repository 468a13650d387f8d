{#
    SELECT on a relation is useless without USAGE on its schema, which dbt
    grants do not cover. This end-of-run hook grants USAGE on each schema
    to the roles the `grants` config of its models names, so the folder
    configs in dbt_project.yml stay the one place access is decided.
    Postgres only. Schemas a partial build never created (its selection
    left out every model of theirs) are skipped, not an error.
#}
{% macro grant_schema_usage() -%}
    {%- if target.type != 'postgres' or not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set pairs = [] -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' -%}
        {%- for role in (node.config.grants or {}).get('select', []) -%}
            {%- set pair = node.schema ~ ' to ' ~ role -%}
            {%- if pair not in pairs -%}
                {%- do pairs.append(pair) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set existing = run_query(
        'select nspname from pg_catalog.pg_namespace'
    ).columns[0].values() -%}
    {%- set statements = [] -%}
    {%- for pair in pairs | sort
        if pair.split(' to ')[0] in existing -%}
        {%- do statements.append('grant usage on schema ' ~ pair) -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}
