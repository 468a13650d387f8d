{#
    The release repeats some rows exactly and carries one row without a
    season; distinct drops the copies and the filter drops the row that
    cannot be placed in any season.
#}
with source as (

    select * from {{ source('lahman', 'allstar_full') }}

),

deduplicated as (

    select distinct * from source
    where year_id is not null

),

renamed as (

    select
        {{ clean_text('player_id') }} as player_id,
        cast(year_id as integer) as season,
        cast(game_num as integer) as game_number,
        {{ clean_text('game_id') }} as game_id,
        {{ clean_text('team_id') }} as team_id,
        {{ clean_text('lg_id') }} as league_id,
        case gp
            when 1 then true
            when 0 then false
        end as has_played,
        cast(starting_pos as integer) as starting_position
    from deduplicated

)

select * from renamed
