with source as (

    select * from {{ source('lahman', 'series_post') }}

),

renamed as (

    select
        cast(year_id as integer) as season,
        {{ clean_text('round') }} as postseason_round,
        {{ clean_text('team_id_winner') }} as winning_team_id,
        {{ clean_text('lg_id_winner') }} as winning_league_id,
        {{ clean_text('team_id_loser') }} as losing_team_id,
        {{ clean_text('lg_id_loser') }} as losing_league_id,
        cast(wins as integer) as wins,
        cast(losses as integer) as losses,
        cast(ties as integer) as tied_games
    from source

)

select * from renamed
