{#
    Use the schema a folder declares (staging, marts, ...) as it is, instead
    of dbt's default "<target schema>_<custom schema>". Every warehouse then
    has the same schema names, which the sidecars, the dashboard and the
    docs rely on. Models without a custom schema land in the target schema.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
