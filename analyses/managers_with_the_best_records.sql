-- Question: Which managers won the largest share of their games over a
--   long career, and how many pennants and titles came with it?
-- Answer shape: the top 20 managers by winning percentage among those with
--   enough decisions, best first: manager, first and last season, seasons
--   and franchises managed, wins, losses, winning percentage, pennants,
--   World Series titles and seasons as a player-manager.
-- Notes: the minimum is the analysis_min_manager_decisions var (1,500
--   decided games by default), which keeps out short, lucky tenures.
--   Records are regular-season wins and losses while the man was in
--   charge. A pennant or title is credited to a manager only when he ran
--   at least half of that team's games, so a mid-season replacement does
--   not share it. Nineteenth-century managers worked shorter schedules
--   and reach the minimum only with long careers.

{%- set min_decisions = var('analysis_min_manager_decisions', 1500) %}

with manager_seasons as (

    select * from {{ ref('fct_manager_seasons') }}

),

team_seasons as (

    select * from {{ ref('fct_team_seasons') }}

),

players as (

    select * from {{ ref('dim_players') }}

),

tenures as (

    select
        manager_seasons.player_id,
        manager_seasons.season,
        team_seasons.franchise_id,
        manager_seasons.wins,
        manager_seasons.losses,
        manager_seasons.is_player_manager,
        team_seasons.is_league_champion,
        team_seasons.is_world_series_winner,
        manager_seasons.share_of_team_games >= 0.5 as ran_most_games
    from manager_seasons
    inner join team_seasons
        on manager_seasons.team_season_id = team_seasons.team_season_id

),

careers as (

    select
        player_id,
        min(season) as first_season,
        max(season) as last_season,
        count(distinct season) as seasons,
        count(distinct franchise_id) as franchises,
        sum(wins) as wins,
        sum(losses) as losses,
        sum(
            case when ran_most_games and is_league_champion then 1 else 0 end
        ) as pennants,
        sum(
            case
                when ran_most_games and is_world_series_winner then 1 else 0
            end
        ) as world_series_titles,
        sum(
            case when is_player_manager then 1 else 0 end
        ) as player_manager_seasons
    from tenures
    group by player_id

),

qualified as (

    select
        careers.player_id,
        players.full_name,
        careers.first_season,
        careers.last_season,
        careers.seasons,
        careers.franchises,
        careers.wins,
        careers.losses,
        {{ safe_divide('careers.wins', 'careers.wins + careers.losses') }}
            as win_pct,
        careers.pennants,
        careers.world_series_titles,
        careers.player_manager_seasons
    from careers
    inner join players
        on careers.player_id = players.player_id
    where careers.wins + careers.losses >= {{ min_decisions }}

),

ranked as (

    select
        *,
        rank() over (order by win_pct desc) as win_pct_rank
    from qualified

)

select * from ranked
where win_pct_rank <= 20
order by win_pct_rank, player_id
