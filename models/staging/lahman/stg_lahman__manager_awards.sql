with source as (

    select * from {{ source('lahman', 'awards_managers') }}

),

renamed as (

    select
        {{ clean_text('player_id') }} as player_id,
        {{ clean_text('award_id') }} as award_id,
        cast(year_id as integer) as season,
        {{ clean_text('lg_id') }} as league_id,
        {{ yes_no_to_boolean('tie', when_missing='false') }} as is_tie,
        {{ clean_text('notes') }} as notes
    from source

)

select * from renamed
