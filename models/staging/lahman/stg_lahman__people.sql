-- Birth and death days are masked by the policies in the YAML: the month
-- is enough for ages and eras, the exact day only identifies.
with source as (

    select * from {{ source('lahman', 'people') }}

),

renamed as (

    select
        {{ clean_text('player_id') }} as player_id,
        cast(birth_year as integer) as birth_year,
        cast(birth_month as integer) as birth_month,
        {{ mask('birth_day', 'cast(birth_day as integer)') }} as birth_day,
        {{ mask('birth_date', date_from_parts(
            'birth_year', 'birth_month', 'birth_day')) }} as birth_date,
        {{ clean_text('birth_country') }} as birth_country,
        {{ clean_text('birth_state') }} as birth_state,
        {{ clean_text('birth_city') }} as birth_city,
        cast(death_year as integer) as death_year,
        cast(death_month as integer) as death_month,
        {{ mask('death_day', 'cast(death_day as integer)') }} as death_day,
        {{ mask('death_date', date_from_parts(
            'death_year', 'death_month', 'death_day')) }} as death_date,
        {{ clean_text('death_country') }} as death_country,
        {{ clean_text('death_state') }} as death_state,
        {{ clean_text('death_city') }} as death_city,
        {{ clean_text('name_first') }} as first_name,
        {{ clean_text('name_last') }} as last_name,
        {{ clean_text('name_given') }} as given_name,
        cast(weight as integer) as weight_lbs,
        cast(height as integer) as height_inches,
        {{ clean_text('bats') }} as bats,
        {{ clean_text('throws') }} as throws,
        cast(debut as date) as debut_date,
        cast(final_game as date) as final_game_date,
        {{ clean_text('retro_id') }} as retro_id,
        {{ clean_text('bbref_id') }} as bbref_id
    from source

)

select * from renamed
