with stints as (

    select * from {{ ref('int_batting_stints_unioned') }}

),

league_games as (

    select
        player_id,
        season,
        season_type,
        league_id,
        sum(games) as games_in_league,
        max(coalesce(stint, 0)) as last_stint
    from stints
    group by
        player_id,
        season,
        season_type,
        league_id

),

primary_leagues as (

    select
        player_id,
        season,
        season_type,
        league_id,
        row_number() over (
            partition by player_id, season, season_type
            order by games_in_league desc, last_stint desc
        ) as league_order
    from league_games

),

totals as (

    select
        player_id,
        season,
        season_type,
        cast(count(*) as integer) as stint_count,
        cast(count(distinct team_id) as integer) as team_count,
        cast(count(distinct league_id) as integer) as league_count,
        cast(sum(games) as integer) as games,
        cast(sum(at_bats) as integer) as at_bats,
        cast(sum(runs) as integer) as runs,
        cast(sum(hits) as integer) as hits,
        cast(sum(doubles) as integer) as doubles,
        cast(sum(triples) as integer) as triples,
        cast(sum(home_runs) as integer) as home_runs,
        cast(sum(runs_batted_in) as integer) as runs_batted_in,
        cast(sum(stolen_bases) as integer) as stolen_bases,
        cast(sum(caught_stealing) as integer) as caught_stealing,
        cast(sum(walks) as integer) as walks,
        cast(sum(strikeouts) as integer) as strikeouts,
        cast(sum(intentional_walks) as integer) as intentional_walks,
        cast(sum(hit_by_pitch) as integer) as hit_by_pitch,
        cast(sum(sacrifice_hits) as integer) as sacrifice_hits,
        cast(sum(sacrifice_flies) as integer) as sacrifice_flies,
        cast(
            sum(grounded_into_double_plays) as integer
        ) as grounded_into_double_plays,
        case when count(distinct team_id) = 1 then max(team_id) end as team_id
    from stints
    group by
        player_id,
        season,
        season_type

),

joined as (

    select
        totals.player_id,
        totals.season,
        totals.season_type,
        primary_leagues.league_id,
        totals.league_count,
        totals.team_id,
        totals.team_count,
        totals.stint_count,
        totals.games,
        totals.at_bats,
        totals.runs,
        totals.hits,
        totals.doubles,
        totals.triples,
        totals.home_runs,
        totals.runs_batted_in,
        totals.stolen_bases,
        totals.caught_stealing,
        totals.walks,
        totals.strikeouts,
        totals.intentional_walks,
        totals.hit_by_pitch,
        totals.sacrifice_hits,
        totals.sacrifice_flies,
        totals.grounded_into_double_plays
    from totals
    inner join primary_leagues
        on
            totals.player_id = primary_leagues.player_id
            and totals.season = primary_leagues.season
            and totals.season_type = primary_leagues.season_type
            and primary_leagues.league_order = 1

)

select * from joined
