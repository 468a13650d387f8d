with source as (

    select * from {{ source('lahman', 'teams_franchises') }}

),

renamed as (

    select
        {{ clean_text('franch_id') }} as franchise_id,
        {{ clean_text('franch_name') }} as franchise_name,
        {{ yes_no_to_boolean('active') }} as is_active,
        {{ clean_text('na_assoc') }} as national_association_franchise_id
    from source

)

select * from renamed
