with source as (

    select * from {{ source('lahman', 'schools') }}

),

renamed as (

    select
        {{ clean_text('school_id') }} as school_id,
        {{ clean_text('name_full') }} as school_name,
        {{ clean_text('city') }} as city,
        {{ clean_text('state') }} as state,
        {{ clean_text('country') }} as country
    from source

)

select * from renamed
