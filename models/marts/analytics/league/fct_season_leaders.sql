{#-
    Leaderboards for eight categories. Ranks come from the season marts
    (rate statistics rank qualified players only, ERA from the lowest);
    counting statistics also need a value above zero, so that a league
    which did not record saves or stolen bases has no board rather than a
    tie among zeros. Ties share a rank, so a board can hold more rows than
    the cut-off.
-#}
{%- set leaders_per_category = var('season_leaders_per_category', 10) -%}

with batting_seasons as (

    select * from {{ ref('fct_batting_seasons') }}

),

pitching_seasons as (

    select * from {{ ref('fct_pitching_seasons') }}

),

leaders as (

    select
        league_id,
        season,
        cast('home_runs' as varchar) as category,
        home_runs_rank as category_rank,
        player_id,
        team_id,
        cast(home_runs as {{ type_double() }}) as stat_value
    from batting_seasons
    where
        home_runs_rank <= {{ leaders_per_category }}
        and home_runs > 0

    union all

    select
        league_id,
        season,
        cast('batting_average' as varchar) as category,
        batting_average_rank as category_rank,
        player_id,
        team_id,
        cast(batting_average as {{ type_double() }}) as stat_value
    from batting_seasons
    where
        batting_average_rank <= {{ leaders_per_category }}

    union all

    select
        league_id,
        season,
        cast('on_base_plus_slugging' as varchar) as category,
        on_base_plus_slugging_rank as category_rank,
        player_id,
        team_id,
        cast(on_base_plus_slugging as {{ type_double() }}) as stat_value
    from batting_seasons
    where
        on_base_plus_slugging_rank <= {{ leaders_per_category }}

    union all

    select
        league_id,
        season,
        cast('stolen_bases' as varchar) as category,
        stolen_bases_rank as category_rank,
        player_id,
        team_id,
        cast(stolen_bases as {{ type_double() }}) as stat_value
    from batting_seasons
    where
        stolen_bases_rank <= {{ leaders_per_category }}
        and stolen_bases > 0

    union all

    select
        league_id,
        season,
        cast('wins' as varchar) as category,
        wins_rank as category_rank,
        player_id,
        team_id,
        cast(wins as {{ type_double() }}) as stat_value
    from pitching_seasons
    where
        wins_rank <= {{ leaders_per_category }}
        and wins > 0

    union all

    select
        league_id,
        season,
        cast('strikeouts' as varchar) as category,
        strikeouts_rank as category_rank,
        player_id,
        team_id,
        cast(strikeouts as {{ type_double() }}) as stat_value
    from pitching_seasons
    where
        strikeouts_rank <= {{ leaders_per_category }}
        and strikeouts > 0

    union all

    select
        league_id,
        season,
        cast('earned_run_average' as varchar) as category,
        earned_run_average_rank as category_rank,
        player_id,
        team_id,
        cast(earned_run_average as {{ type_double() }}) as stat_value
    from pitching_seasons
    where
        earned_run_average_rank <= {{ leaders_per_category }}

    union all

    select
        league_id,
        season,
        cast('saves' as varchar) as category,
        saves_rank as category_rank,
        player_id,
        team_id,
        cast(saves as {{ type_double() }}) as stat_value
    from pitching_seasons
    where
        saves_rank <= {{ leaders_per_category }}
        and saves > 0

)

select * from leaders
