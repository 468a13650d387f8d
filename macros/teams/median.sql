{#
    The median of a numeric expression, as an aggregate. DuckDB and Postgres
    compute it exactly with the ordered-set aggregate percentile_cont; Athena
    (Trino) has no ordered-set aggregates, so there it is the approximate
    percentile, which agrees with the exact median to within the sketch's
    error. The result is always a double.
#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'diamond')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    cast(
        percentile_cont(0.5) within group (order by {{ expression }})
        as {{ diamond.type_double() }}
    )
{%- endmacro %}

{% macro athena__median(expression) -%}
    cast(
        approx_percentile(
            cast({{ expression }} as {{ diamond.type_double() }}), 0.5
        )
        as {{ diamond.type_double() }}
    )
{%- endmacro %}
