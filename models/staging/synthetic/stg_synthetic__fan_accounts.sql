-- Fan accounts as analysts may see them: every personal column passes
-- through mask(), whose policy each column's meta in the YAML names.
with source as (

    select * from {{ source('synthetic', 'fan_accounts') }}

),

masked as (

    select
        {{ mask('fan_key', 'fan_id') }} as fan_key,
        {{ mask('full_name') }} as full_name,
        {{ mask('email') }} as email,
        {{ mask('phone') }} as phone,
        {{ mask('street_address') }} as street_address,
        {{ mask('city') }} as city,
        {{ mask('state') }} as state,
        {{ mask('zip3', 'zip_code') }} as zip3,
        {{ mask('birth_year', 'date_of_birth') }} as birth_year,
        {{ mask('national_id') }} as national_id,
        {{ mask('card_number') }} as card_number,
        {{ mask('ip_address') }} as ip_address,
        {{ mask('favorite_team_id') }} as favorite_team_id,
        {{ mask('signup_date') }} as signup_date,
        {{ mask('support_notes') }} as support_notes
    from source

)

select * from masked
