with source as (

    select * from {{ source('lahman', 'fielding_of') }}

),

renamed as (

    select
        {{ clean_text('player_id') }} as player_id,
        cast(year_id as integer) as season,
        cast(stint as integer) as stint,
        cast(g_lf as integer) as left_field_games,
        cast(g_cf as integer) as center_field_games,
        cast(g_rf as integer) as right_field_games
    from source

)

select * from renamed
