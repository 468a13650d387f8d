with salaries as (

    select * from {{ ref('stg_lahman__salaries') }}

),

payrolls as (

    select * from {{ ref('int_team_payrolls_summed') }}

),

league_medians as (

    select
        season,
        league_id,
        {{ median('salary_usd') }} as league_median_salary_usd
    from salaries
    group by
        season,
        league_id

),

ranked as (

    select
        {{ team_season_id('salaries.season', 'salaries.team_id') }}
            as team_season_id,
        salaries.player_id,
        salaries.season,
        salaries.team_id,
        salaries.league_id,
        salaries.salary_usd,
        rank() over (
            partition by salaries.season, salaries.team_id
            order by salaries.salary_usd desc
        ) as team_salary_rank
    from salaries

),

final as (

    select
        cast(ranked.player_id as varchar) as player_id,
        cast(ranked.team_season_id as varchar) as team_season_id,
        cast(ranked.season as integer) as season,
        cast(ranked.team_id as varchar) as team_id,
        cast(ranked.league_id as varchar) as league_id,
        cast(ranked.salary_usd as bigint) as salary_usd,
        cast(ranked.team_salary_rank as integer) as team_salary_rank,
        cast(payrolls.payroll_usd as bigint) as team_payroll_usd,
        cast(
            {{ safe_divide('ranked.salary_usd', 'payrolls.payroll_usd') }}
            as {{ type_double() }}
        ) as share_of_team_payroll,
        cast(league_medians.league_median_salary_usd as {{ type_double() }})
            as league_median_salary_usd,
        cast(
            {{ safe_divide(
                'ranked.salary_usd', 'league_medians.league_median_salary_usd'
            ) }}
            as {{ type_double() }}
        ) as salary_to_league_median
    from ranked
    inner join payrolls
        on ranked.team_season_id = payrolls.team_season_id
    inner join league_medians
        on
            ranked.season = league_medians.season
            and ranked.league_id = league_medians.league_id

)

select * from final
