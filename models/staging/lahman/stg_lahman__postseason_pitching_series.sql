with source as (

    select * from {{ source('lahman', 'pitching_post') }}

),

renamed as (

    select
        {{ clean_text('player_id') }} as player_id,
        cast(year_id as integer) as season,
        {{ clean_text('round') }} as postseason_round,
        {{ clean_text('team_id') }} as team_id,
        {{ clean_text('lg_id') }} as league_id,
        cast(w as integer) as wins,
        cast(l as integer) as losses,
        cast(g as integer) as games,
        cast(gs as integer) as games_started,
        cast(cg as integer) as complete_games,
        cast(sho as integer) as shutouts,
        cast(sv as integer) as saves,
        cast(ip_outs as integer) as outs_pitched,
        cast(h as integer) as hits_allowed,
        cast(er as integer) as earned_runs,
        cast(hr as integer) as home_runs_allowed,
        cast(bb as integer) as walks_allowed,
        cast(so as integer) as strikeouts,
        cast(ba_opp as {{ type_double() }}) as opponent_batting_average,
        cast(era as {{ type_double() }}) as published_era,
        cast(ibb as integer) as intentional_walks_allowed,
        cast(wp as integer) as wild_pitches,
        cast(hbp as integer) as hit_batters,
        cast(bk as integer) as balks,
        cast(bfp as integer) as batters_faced,
        cast(gf as integer) as games_finished,
        cast(r as integer) as runs_allowed,
        cast(sh as integer) as sacrifice_hits_allowed,
        cast(sf as integer) as sacrifice_flies_allowed,
        cast(gidp as integer) as double_plays_induced
    from source

)

select * from renamed
