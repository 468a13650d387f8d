{#
    Text as staging hands it on: cast to varchar, surrounding spaces and
    tabs removed, and a value with nothing left in it turned into null.
    The release marks a missing value with an empty field, and one notes
    field holds a lone tab; both mean "no value".
#}
{% macro clean_text(column) -%}
    nullif(trim(replace(cast({{ column }} as varchar), chr(9), ' ')), '')
{%- endmacro %}
