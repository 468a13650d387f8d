with batting_stints as (

    select * from {{ ref('stg_lahman__batting_stints') }}

),

pitching_stints as (

    select * from {{ ref('stg_lahman__pitching_stints') }}

),

team_seasons as (

    select * from {{ ref('stg_lahman__team_seasons') }}

),

team_games as (

    select
        season,
        league_id,
        cast(count(*) as integer) as team_count,
        cast(sum(games) as integer) as team_games
    from team_seasons
    where league_id is not null
    group by
        season,
        league_id

),

batting_totals as (

    select
        season,
        league_id,
        cast(count(distinct player_id) as integer) as batter_count,
        cast(sum({{ plate_appearances() }}) as integer) as plate_appearances,
        cast(sum(at_bats) as integer) as at_bats,
        cast(sum(runs) as integer) as runs,
        cast(sum(hits) as integer) as hits,
        cast(sum(doubles) as integer) as doubles,
        cast(sum(triples) as integer) as triples,
        cast(sum(home_runs) as integer) as home_runs,
        cast(sum(walks) as integer) as walks,
        cast(sum(strikeouts) as integer) as strikeouts,
        cast(sum(hit_by_pitch) as integer) as hit_by_pitch,
        cast(sum(sacrifice_hits) as integer) as sacrifice_hits,
        cast(sum(sacrifice_flies) as integer) as sacrifice_flies,
        cast(sum(stolen_bases) as integer) as stolen_bases
    from batting_stints
    where league_id is not null
    group by
        season,
        league_id

),

pitching_totals as (

    select
        season,
        league_id,
        cast(count(distinct player_id) as integer) as pitcher_count,
        cast(sum(outs_pitched) as integer) as outs_pitched,
        cast(sum(hits_allowed) as integer) as hits_allowed,
        cast(sum(runs_allowed) as integer) as runs_allowed,
        cast(sum(earned_runs) as integer) as earned_runs,
        cast(sum(home_runs_allowed) as integer) as home_runs_allowed,
        cast(sum(walks_allowed) as integer) as walks_allowed,
        cast(sum(hit_batters) as integer) as hit_batters,
        cast(sum(strikeouts) as integer) as pitcher_strikeouts
    from pitching_stints
    where league_id is not null
    group by
        season,
        league_id

),

joined as (

    select
        team_games.season,
        team_games.league_id,
        team_games.team_count,
        team_games.team_games,
        batting_totals.batter_count,
        pitching_totals.pitcher_count,
        batting_totals.plate_appearances,
        batting_totals.at_bats,
        batting_totals.runs,
        batting_totals.hits,
        batting_totals.doubles,
        batting_totals.triples,
        batting_totals.home_runs,
        batting_totals.walks,
        batting_totals.strikeouts,
        batting_totals.hit_by_pitch,
        batting_totals.sacrifice_hits,
        batting_totals.sacrifice_flies,
        batting_totals.stolen_bases,
        pitching_totals.outs_pitched,
        pitching_totals.hits_allowed,
        pitching_totals.runs_allowed,
        pitching_totals.earned_runs,
        pitching_totals.home_runs_allowed,
        pitching_totals.walks_allowed,
        pitching_totals.hit_batters,
        pitching_totals.pitcher_strikeouts
    from team_games
    left join batting_totals
        on
            team_games.season = batting_totals.season
            and team_games.league_id = batting_totals.league_id
    left join pitching_totals
        on
            team_games.season = pitching_totals.season
            and team_games.league_id = pitching_totals.league_id

),

with_rates as (

    select
        *,
        {{ safe_divide('team_games', 'team_count') }} as games_per_team,
        {{ batting_average() }} as batting_average,
        {{ on_base_percentage() }} as on_base_percentage,
        {{ slugging_percentage() }} as slugging_percentage,
        {{ on_base_plus_slugging() }} as on_base_plus_slugging,
        {{ earned_run_average() }} as earned_run_average,
        {{ safe_divide('runs', 'team_games') }} as runs_per_game,
        {{ safe_divide('home_runs', 'team_games') }} as home_runs_per_game,
        {{ safe_divide('strikeouts', 'team_games') }} as strikeouts_per_game,
        {{ fip_constant(strikeouts='pitcher_strikeouts') }} as fip_constant
    from joined

)

select * from with_rates
