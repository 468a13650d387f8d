with source as (

    select * from {{ source('lahman', 'managers_half') }}

),

renamed as (

    select
        {{ clean_text('player_id') }} as player_id,
        cast(year_id as integer) as season,
        {{ clean_text('team_id') }} as team_id,
        {{ clean_text('lg_id') }} as league_id,
        cast(inseason as integer) as manager_order,
        cast(half as integer) as season_half,
        cast(g as integer) as games,
        cast(w as integer) as wins,
        cast(l as integer) as losses,
        cast(rank as integer) as standings_rank
    from source

)

select * from renamed
