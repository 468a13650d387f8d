with source as (

    select * from {{ source('lahman', 'batting') }}

),

renamed as (

    select
        {{ clean_text('player_id') }} as player_id,
        cast(year_id as integer) as season,
        cast(stint as integer) as stint,
        {{ clean_text('team_id') }} as team_id,
        {{ clean_text('lg_id') }} as league_id,
        cast(g as integer) as games,
        cast(ab as integer) as at_bats,
        cast(r as integer) as runs,
        cast(h as integer) as hits,
        cast(doubles as integer) as doubles,
        cast(triples as integer) as triples,
        cast(hr as integer) as home_runs,
        cast(rbi as integer) as runs_batted_in,
        cast(sb as integer) as stolen_bases,
        cast(cs as integer) as caught_stealing,
        cast(bb as integer) as walks,
        cast(so as integer) as strikeouts,
        cast(ibb as integer) as intentional_walks,
        cast(hbp as integer) as hit_by_pitch,
        cast(sh as integer) as sacrifice_hits,
        cast(sf as integer) as sacrifice_flies,
        cast(gidp as integer) as grounded_into_double_plays
    from source

)

select * from renamed
