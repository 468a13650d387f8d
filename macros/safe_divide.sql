{#
    Divide as doubles and return null instead of failing (or returning
    infinity) when the denominator is zero or null: a player with no at
    bats has no batting average, not an error. The result is parenthesised
    so that it composes safely inside larger expressions.
#}
{% macro safe_divide(numerator, denominator) -%}
    (
        cast({{ numerator }} as {{ diamond.type_double() }})
        / nullif(cast({{ denominator }} as {{ diamond.type_double() }}), 0)
    )
{%- endmacro %}
