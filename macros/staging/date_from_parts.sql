{#
    A date built from separate year, month and day columns (the release
    stores birth and death dates that way). The result is null unless all
    three parts are present: a year alone is not a date. DuckDB and
    Postgres share make_date; Athena (Trino) has no such function, so it
    casts an ISO-8601 string assembled from the zero-padded parts.
#}
{% macro date_from_parts(year, month, day) -%}
    case
        when
            {{ year }} is not null
            and {{ month }} is not null
            and {{ day }} is not null
            then {{ adapter.dispatch('date_from_parts', 'diamond')(
                year, month, day) }}
    end
{%- endmacro %}

{% macro default__date_from_parts(year, month, day) -%}
    make_date(
        cast({{ year }} as integer),
        cast({{ month }} as integer),
        cast({{ day }} as integer)
    )
{%- endmacro %}

{% macro athena__date_from_parts(year, month, day) -%}
    cast(
        concat(
            lpad(cast({{ year }} as varchar), 4, '0'), '-',
            lpad(cast({{ month }} as varchar), 2, '0'), '-',
            lpad(cast({{ day }} as varchar), 2, '0')
        ) as date
    )
{%- endmacro %}
