with source as (

    select * from {{ source('lahman', 'hall_of_fame') }}

),

renamed as (

    select
        {{ clean_text('player_id') }} as player_id,
        cast(year_id as integer) as season,
        {{ clean_text('voted_by') }} as voted_by,
        cast(ballots as integer) as ballots_cast,
        cast(needed as integer) as votes_needed,
        cast(votes as integer) as votes_received,
        {{ yes_no_to_boolean('inducted') }} as is_inducted,
        {{ clean_text('category') }} as category,
        {{ clean_text('needed_note') }} as votes_needed_note
    from source

)

select * from renamed
