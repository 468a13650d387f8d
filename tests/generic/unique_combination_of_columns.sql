{#
    Fails for every combination of the given columns that occurs more than
    once: the primary-key test for models whose key spans several columns.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- if combination_of_columns | length == 0 -%}
    {{ exceptions.raise_compiler_error(
        "unique_combination_of_columns on " ~ model
        ~ ": combination_of_columns is empty; list the key columns"
    ) }}
{%- endif -%}

{%- set columns = combination_of_columns | join(", ") %}

with keyed as (

    select
        {{ columns }},
        count(*) as occurrences
    from {{ model }}
    group by {{ columns }}

),

duplicated as (

    select * from keyed
    where occurrences > 1

)

select * from duplicated

{% endtest %}
