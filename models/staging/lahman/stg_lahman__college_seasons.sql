with source as (

    select * from {{ source('lahman', 'college_playing') }}

),

renamed as (

    select
        {{ clean_text('player_id') }} as player_id,
        {{ clean_text('school_id') }} as school_id,
        cast(year_id as integer) as season
    from source

)

select * from renamed
