{#
    The 8-byte floating point type, spelled for each warehouse. dbt's own
    type_float() gives "float", which is a 4-byte REAL on DuckDB; rate
    statistics need the full precision everywhere.
#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'diamond')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}
