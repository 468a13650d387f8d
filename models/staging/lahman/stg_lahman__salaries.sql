with source as (

    select * from {{ source('lahman', 'salaries') }}

),

renamed as (

    select
        cast(year_id as integer) as season,
        {{ clean_text('team_id') }} as team_id,
        {{ clean_text('lg_id') }} as league_id,
        {{ clean_text('player_id') }} as player_id,
        cast(salary as bigint) as salary_usd
    from source

)

select * from renamed
