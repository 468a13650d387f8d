{#
    Names the era a season belongs to, so that questions asked "by era"
    group seasons the same way in every analysis. Each label starts with
    its first and last season ("1920-1941 live ball"), so sorting the
    labels as text sorts the eras in time on every warehouse.

    The boundaries are the ones baseball writers commonly use: 1901 (the
    American League and the foul-strike rule), 1920 (the ball livened and
    the spitball banned), 1942 (wartime, then integration), 1961
    (expansion), 1977 (free agency), 1994 (the strike and the high-offense
    years) and 2006 (drug testing with penalties). They are the default of
    the baseball_eras var: a list of [first_season, name] pairs in
    ascending order, which a project can override without editing any
    analysis. A season before the first era gets null.
#}
{% macro baseball_era(season) -%}
    {%- set default_eras = [
        [1871, 'nineteenth century'],
        [1901, 'dead ball'],
        [1920, 'live ball'],
        [1942, 'war and integration'],
        [1961, 'expansion'],
        [1977, 'free agency'],
        [1994, 'high offense'],
        [2006, 'testing and strikeouts'],
    ] -%}
    {%- set eras = var('baseball_eras', default_eras) -%}
    {%- set last_season = var('baseball_eras_last_season', 2020) -%}
    {%- if eras | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "baseball_era(" ~ season ~ "): the baseball_eras var is empty; "
            ~ "give a list of [first_season, name] pairs"
        ) }}
    {%- endif -%}
    {%- for era in eras -%}
        {%- if era | length != 2 or era[0] is not number -%}
            {{ exceptions.raise_compiler_error(
                "baseball_era: each baseball_eras entry must be "
                ~ "[first_season, name], got " ~ era
            ) }}
        {%- endif -%}
        {%- if not loop.first and era[0] <= loop.previtem[0] -%}
            {{ exceptions.raise_compiler_error(
                "baseball_era: baseball_eras must be in ascending order of "
                ~ "first season, got " ~ era[0] ~ " after "
                ~ loop.previtem[0]
            ) }}
        {%- endif -%}
    {%- endfor -%}
    case
        {%- for era in eras | reverse %}
            {%- if loop.first %}
                {%- set era_end = last_season -%}
            {%- else %}
                {%- set era_end = loop.previtem[0] - 1 -%}
            {%- endif %}
        when {{ season }} >= {{ era[0] }}
            then '{{ era[0] }}-{{ era_end }} {{ era[1] }}'
        {%- endfor %}
    end
{%- endmacro %}
