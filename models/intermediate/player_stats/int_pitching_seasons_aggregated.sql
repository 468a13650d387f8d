with stints as (

    select * from {{ ref('int_pitching_stints_unioned') }}

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
        cast(sum(wins) as integer) as wins,
        cast(sum(losses) as integer) as losses,
        cast(sum(games) as integer) as games,
        cast(sum(games_started) as integer) as games_started,
        cast(sum(complete_games) as integer) as complete_games,
        cast(sum(shutouts) as integer) as shutouts,
        cast(sum(saves) as integer) as saves,
        cast(sum(games_finished) as integer) as games_finished,
        cast(sum(outs_pitched) as integer) as outs_pitched,
        cast(sum(batters_faced) as integer) as batters_faced,
        cast(sum(hits_allowed) as integer) as hits_allowed,
        cast(sum(runs_allowed) as integer) as runs_allowed,
        cast(sum(earned_runs) as integer) as earned_runs,
        cast(sum(home_runs_allowed) as integer) as home_runs_allowed,
        cast(sum(walks_allowed) as integer) as walks_allowed,
        cast(
            sum(intentional_walks_allowed) as integer
        ) as intentional_walks_allowed,
        cast(sum(strikeouts) as integer) as strikeouts,
        cast(sum(hit_batters) as integer) as hit_batters,
        cast(sum(wild_pitches) as integer) as wild_pitches,
        cast(sum(balks) as integer) as balks,
        cast(sum(sacrifice_hits_allowed) as integer) as sacrifice_hits_allowed,
        cast(
            sum(sacrifice_flies_allowed) as integer
        ) as sacrifice_flies_allowed,
        cast(sum(double_plays_induced) as integer) as double_plays_induced,
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
        totals.wins,
        totals.losses,
        totals.games,
        totals.games_started,
        totals.complete_games,
        totals.shutouts,
        totals.saves,
        totals.games_finished,
        totals.outs_pitched,
        totals.batters_faced,
        totals.hits_allowed,
        totals.runs_allowed,
        totals.earned_runs,
        totals.home_runs_allowed,
        totals.walks_allowed,
        totals.intentional_walks_allowed,
        totals.strikeouts,
        totals.hit_batters,
        totals.wild_pitches,
        totals.balks,
        totals.sacrifice_hits_allowed,
        totals.sacrifice_flies_allowed,
        totals.double_plays_induced
    from totals
    inner join primary_leagues
        on
            totals.player_id = primary_leagues.player_id
            and totals.season = primary_leagues.season
            and totals.season_type = primary_leagues.season_type
            and primary_leagues.league_order = 1

)

select * from joined
