{#
    Rank of a statistic within its league-season, for the season marts.
    Only regular-season rows with a known league and a non-null value are
    ranked; with qualified_only, the row must also have is_qualified true
    (enough plate appearances or outs for a rate statistic to count).
    Everyone else gets null rather than a rank among the ineligible, which
    is what a plain rank() over all rows would give. Ties share a rank
    (1, 1, 3). Expects the columns season_type, season, league_id and, with
    qualified_only, is_qualified.
#}
{% macro league_season_rank(stat, order='desc', qualified_only=false) -%}
    {%- if order not in ('asc', 'desc') -%}
        {{ exceptions.raise_compiler_error(
            "league_season_rank(" ~ stat ~ "): order must be 'asc' or "
            ~ "'desc', got '" ~ order ~ "'"
        ) }}
    {%- endif -%}
    {%- set eligible -%}
        season_type = 'regular'
        and league_id is not null
        and {{ stat }} is not null
        {%- if qualified_only %}
        and is_qualified
        {%- endif %}
    {%- endset -%}
    case
        when {{ eligible }}
            then cast(rank() over (
                partition by
                    season_type,
                    season,
                    league_id,
                    case when {{ eligible }} then 1 else 0 end
                order by {{ stat }} {{ order }}
            ) as integer)
    end
{%- endmacro %}
