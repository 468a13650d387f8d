{#
    Orders the release's postseason round codes by how deep into October
    they are: 1 wild card (ALWC, NLWC, ALWC1..4), 2 division series (ALDS1,
    NLDS2, the 1981 split-season AEDIV..NWDIV), 3 league championship
    (ALCS, NLCS and the 1892 NL split-season "CS") and 4 World Series (WS,
    including the nineteenth-century series between league champions).
    A code that fits none of these fails the build instead of being
    silently ranked: the stage column is tested not_null.
#}
{% macro postseason_stage(round_column) -%}
    case
        when {{ round_column }} = 'WS' then 4
        when {{ round_column }} like '%WC%' then 1
        when {{ round_column }} like '%DS%' then 2
        when {{ round_column }} like '%DIV' then 2
        when {{ round_column }} like '%CS' then 3
    end
{%- endmacro %}
