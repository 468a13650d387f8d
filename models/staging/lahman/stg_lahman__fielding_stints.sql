with source as (

    select * from {{ source('lahman', 'fielding') }}

),

renamed as (

    select
        {{ clean_text('player_id') }} as player_id,
        cast(year_id as integer) as season,
        cast(stint as integer) as stint,
        {{ clean_text('team_id') }} as team_id,
        {{ clean_text('lg_id') }} as league_id,
        {{ clean_text('pos') }} as position,
        cast(g as integer) as games,
        cast(gs as integer) as games_started,
        cast(inn_outs as integer) as outs_played,
        cast(po as integer) as putouts,
        cast(a as integer) as assists,
        cast(e as integer) as errors,
        cast(dp as integer) as double_plays,
        cast(pb as integer) as passed_balls,
        cast(wp as integer) as wild_pitches,
        cast(sb as integer) as stolen_bases_allowed,
        cast(cs as integer) as caught_stealing,
        cast(zr as {{ type_double() }}) as zone_rating
    from source

)

select * from renamed
