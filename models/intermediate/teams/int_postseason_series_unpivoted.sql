with series as (

    select * from {{ ref('stg_lahman__postseason_series') }}

),

winners as (

    select
        season,
        postseason_round,
        winning_team_id as team_id,
        winning_league_id as league_id,
        losing_team_id as opponent_team_id,
        wins as games_won,
        losses as games_lost,
        tied_games,
        wins > losses as is_series_winner
    from series

),

losers as (

    select
        season,
        postseason_round,
        losing_team_id as team_id,
        losing_league_id as league_id,
        winning_team_id as opponent_team_id,
        losses as games_won,
        wins as games_lost,
        tied_games,
        false as is_series_winner
    from series

),

unioned as (

    select * from winners
    union all
    select * from losers

),

staged as (

    select
        {{ team_season_id('season', 'team_id') }} as team_season_id,
        season,
        postseason_round,
        {{ postseason_stage('postseason_round') }} as postseason_stage,
        team_id,
        league_id,
        opponent_team_id,
        games_won,
        games_lost,
        tied_games,
        is_series_winner,
        games_won = games_lost as is_series_drawn
    from unioned

)

select * from staged
