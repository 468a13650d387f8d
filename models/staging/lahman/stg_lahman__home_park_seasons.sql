with source as (

    select * from {{ source('lahman', 'home_games') }}

),

renamed as (

    select
        cast(year_key as integer) as season,
        {{ clean_text('league_key') }} as league_id,
        {{ clean_text('team_key') }} as team_id,
        {{ clean_text('park_key') }} as park_id,
        cast(span_first as date) as first_game_date,
        cast(span_last as date) as last_game_date,
        cast(games as integer) as games,
        cast(openings as integer) as gate_openings,
        cast(attendance as bigint) as attendance
    from source

)

select * from renamed
