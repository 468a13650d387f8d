with stints as (

    select * from {{ ref('int_fielding_stints_unioned') }}

),

league_games as (

    select
        player_id,
        season,
        season_type,
        position,
        league_id,
        sum(games) as games_in_league,
        max(coalesce(stint, 0)) as last_stint
    from stints
    group by
        player_id,
        season,
        season_type,
        position,
        league_id

),

primary_leagues as (

    select
        player_id,
        season,
        season_type,
        position,
        league_id,
        row_number() over (
            partition by player_id, season, season_type, position
            order by games_in_league desc, last_stint desc
        ) as league_order
    from league_games

),

totals as (

    select
        player_id,
        season,
        season_type,
        position,
        cast(count(*) as integer) as stint_count,
        cast(count(distinct team_id) as integer) as team_count,
        cast(count(distinct league_id) as integer) as league_count,
        cast(sum(games) as integer) as games,
        cast(sum(games_started) as integer) as games_started,
        cast(sum(outs_played) as integer) as outs_played,
        cast(sum(putouts) as integer) as putouts,
        cast(sum(assists) as integer) as assists,
        cast(sum(errors) as integer) as errors,
        cast(sum(double_plays) as integer) as double_plays,
        cast(sum(triple_plays) as integer) as triple_plays,
        cast(sum(passed_balls) as integer) as passed_balls,
        cast(sum(wild_pitches) as integer) as wild_pitches,
        cast(sum(stolen_bases_allowed) as integer) as stolen_bases_allowed,
        cast(sum(caught_stealing) as integer) as caught_stealing,
        case when count(distinct team_id) = 1 then max(team_id) end as team_id
    from stints
    group by
        player_id,
        season,
        season_type,
        position

),

joined as (

    select
        totals.player_id,
        totals.season,
        totals.season_type,
        totals.position,
        primary_leagues.league_id,
        totals.league_count,
        totals.team_id,
        totals.team_count,
        totals.stint_count,
        totals.games,
        totals.games_started,
        totals.outs_played,
        totals.putouts,
        totals.assists,
        totals.errors,
        totals.double_plays,
        totals.triple_plays,
        totals.passed_balls,
        totals.wild_pitches,
        totals.stolen_bases_allowed,
        totals.caught_stealing
    from totals
    inner join primary_leagues
        on
            totals.player_id = primary_leagues.player_id
            and totals.season = primary_leagues.season
            and totals.season_type = primary_leagues.season_type
            and totals.position = primary_leagues.position
            and primary_leagues.league_order = 1

)

select * from joined
