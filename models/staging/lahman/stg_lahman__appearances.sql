with source as (

    select * from {{ source('lahman', 'appearances') }}

),

renamed as (

    select
        cast(year_id as integer) as season,
        {{ clean_text('team_id') }} as team_id,
        {{ clean_text('lg_id') }} as league_id,
        {{ clean_text('player_id') }} as player_id,
        cast(g_all as integer) as games,
        cast(gs as integer) as games_started,
        cast(g_batting as integer) as batting_games,
        cast(g_defense as integer) as defensive_games,
        cast(g_p as integer) as pitcher_games,
        cast(g_c as integer) as catcher_games,
        cast(g_1b as integer) as first_base_games,
        cast(g_2b as integer) as second_base_games,
        cast(g_3b as integer) as third_base_games,
        cast(g_ss as integer) as shortstop_games,
        cast(g_lf as integer) as left_field_games,
        cast(g_cf as integer) as center_field_games,
        cast(g_rf as integer) as right_field_games,
        cast(g_of as integer) as outfield_games,
        cast(g_dh as integer) as designated_hitter_games,
        cast(g_ph as integer) as pinch_hitter_games,
        cast(g_pr as integer) as pinch_runner_games
    from source

)

select * from renamed
