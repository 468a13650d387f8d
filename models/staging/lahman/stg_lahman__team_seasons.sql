with source as (

    select * from {{ source('lahman', 'teams') }}

),

renamed as (

    select
        cast(year_id as integer) as season,
        {{ clean_text('lg_id') }} as league_id,
        {{ clean_text('team_id') }} as team_id,
        {{ clean_text('franch_id') }} as franchise_id,
        {{ clean_text('div_id') }} as division_id,
        cast(rank as integer) as standings_rank,
        cast(g as integer) as games,
        cast(g_home as integer) as home_games,
        cast(w as integer) as wins,
        cast(l as integer) as losses,
        {{ yes_no_to_boolean('div_win') }} as is_division_winner,
        {{ yes_no_to_boolean('wc_win') }} as is_wild_card_winner,
        {{ yes_no_to_boolean('lg_win') }} as is_league_champion,
        {{ yes_no_to_boolean('ws_win') }} as is_world_series_winner,
        cast(r as integer) as runs,
        cast(ab as integer) as at_bats,
        cast(h as integer) as hits,
        cast(doubles as integer) as doubles,
        cast(triples as integer) as triples,
        cast(hr as integer) as home_runs,
        cast(bb as integer) as walks,
        cast(so as integer) as strikeouts,
        cast(sb as integer) as stolen_bases,
        cast(cs as integer) as caught_stealing,
        cast(hbp as integer) as hit_by_pitch,
        cast(sf as integer) as sacrifice_flies,
        cast(ra as integer) as runs_allowed,
        cast(er as integer) as earned_runs,
        cast(era as {{ type_double() }}) as published_era,
        cast(cg as integer) as complete_games,
        cast(sho as integer) as shutouts,
        cast(sv as integer) as saves,
        cast(ip_outs as integer) as outs_pitched,
        cast(ha as integer) as hits_allowed,
        cast(hra as integer) as home_runs_allowed,
        cast(bba as integer) as walks_allowed,
        cast(soa as integer) as pitching_strikeouts,
        cast(e as integer) as errors,
        cast(dp as integer) as double_plays,
        cast(fp as {{ type_double() }}) as published_fielding_percentage,
        {{ clean_text('name') }} as team_name,
        {{ clean_text('park') }} as park_name,
        cast(attendance as bigint) as attendance,
        cast(bpf as integer) as batting_park_factor,
        cast(ppf as integer) as pitching_park_factor,
        {{ clean_text('team_id_br') }} as bbref_team_id,
        {{ clean_text('team_id_lahman45') }} as lahman45_team_id,
        {{ clean_text('team_id_retro') }} as retro_team_id
    from source

)

select * from renamed
