with source as (

    select * from {{ source('lahman', 'teams_half') }}

),

renamed as (

    select
        cast(year_id as integer) as season,
        {{ clean_text('lg_id') }} as league_id,
        {{ clean_text('team_id') }} as team_id,
        cast(half as integer) as season_half,
        {{ clean_text('div_id') }} as division_id,
        {{ yes_no_to_boolean('div_win') }} as is_division_winner,
        cast(rank as integer) as standings_rank,
        cast(g as integer) as games,
        cast(w as integer) as wins,
        cast(l as integer) as losses
    from source

)

select * from renamed
