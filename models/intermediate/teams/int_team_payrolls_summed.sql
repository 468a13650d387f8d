with salaries as (

    select * from {{ ref('stg_lahman__salaries') }}

),

payrolls as (

    select
        season,
        team_id,
        cast(sum(salary_usd) as bigint) as payroll_usd,
        cast(count(*) as integer) as salaried_players
    from salaries
    group by
        season,
        team_id

),

keyed as (

    select
        {{ team_season_id('season', 'team_id') }} as team_season_id,
        season,
        team_id,
        payroll_usd,
        salaried_players
    from payrolls

)

select * from keyed
