with source as (

    select * from {{ source('lahman', 'parks') }}

),

renamed as (

    select
        {{ clean_text('park_key') }} as park_id,
        {{ clean_text('park_name') }} as park_name,
        {{ clean_text('park_alias') }} as park_aliases,
        {{ clean_text('city') }} as city,
        {{ clean_text('state') }} as state,
        {{ clean_text('country') }} as country
    from source

)

select * from renamed
