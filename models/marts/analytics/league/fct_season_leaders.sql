{#-
    Leaderboards for eight categories. Ranks come from the season marts
    (rate statistics rank qualified players only, ERA from the lowest);
    counting statistics also need a value above zero, so that a league
    which did not record saves or stolen bases has no board rather than a
    tie among zeros. Ties share a rank, so a board can hold more rows than
    the cut-off.
-#}
{%- set leaders_per_category = var('season_leaders_per_category', 10) -%}
{#- One board per (season mart, statistic, is a counting statistic). -#}
{%- set boards = [
    ('batting_seasons', 'home_runs', true),
    ('batting_seasons', 'batting_average', false),
    ('batting_seasons', 'on_base_plus_slugging', false),
    ('batting_seasons', 'stolen_bases', true),
    ('pitching_seasons', 'wins', true),
    ('pitching_seasons', 'strikeouts', true),
    ('pitching_seasons', 'earned_run_average', false),
    ('pitching_seasons', 'saves', true),
] -%}

with batting_seasons as (

    select * from {{ ref('fct_batting_seasons') }}

),

pitching_seasons as (

    select * from {{ ref('fct_pitching_seasons') }}

),

leaders as (

    {% for mart, stat, is_counting in boards %}
        select
            league_id,
            season,
            cast('{{ stat }}' as varchar) as category,
            {{ stat }}_rank as category_rank,
            player_id,
            team_id,
            cast({{ stat }} as {{ type_double() }}) as stat_value
        from {{ mart }}
        where
            {{ stat }}_rank <= {{ leaders_per_category }}
            {% if is_counting %}and {{ stat }} > 0{% endif %}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from leaders
