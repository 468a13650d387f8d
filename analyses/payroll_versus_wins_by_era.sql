-- Question: Did a bigger payroll buy more wins, and did that change from
--   one era to the next?
-- Answer shape: one row per era with salary data, oldest first: the
--   team-seasons covered, the average payroll, the correlation of payroll
--   with wins, the correlation of payroll relative to the season's average
--   with winning percentage, wins per million dollars of payroll, and how
--   often teams in the top and bottom payroll quarter of their season
--   reached the postseason.
-- Notes: salaries exist only for 1985-2016, so only three eras appear and
--   the first and last are partial. Payroll is the sum of the salaries the
--   release records for a team-season, not the club's full spending, and
--   is in nominal dollars; the relative payroll (payroll over the season's
--   average) removes salary inflation. The 1994 and 1995 seasons were cut
--   short by the strike, which lowers raw win totals, not percentages.
--   Team-seasons with salaries for fewer players than the
--   analysis_min_salaried_players var (20 by default) are left out, as
--   their recorded payroll is only a fragment of the real one.

{%- set min_salaried_players = var('analysis_min_salaried_players', 20) %}

with team_seasons as (

    select * from {{ ref('fct_team_seasons') }}

),

salaried_team_seasons as (

    select
        season,
        team_id,
        {{ baseball_era('season') }} as era,
        cast(wins as {{ type_double() }}) as wins,
        win_pct,
        made_postseason,
        cast(payroll_usd as {{ type_double() }}) as payroll_usd
    from team_seasons
    where
        payroll_usd is not null
        and salaried_players >= {{ min_salaried_players }}

),

relative_to_season as (

    select
        *,
        {{ safe_divide(
            'payroll_usd', 'avg(payroll_usd) over (partition by season)'
        ) }} as relative_payroll,
        ntile(4) over (
            partition by season
            order by payroll_usd desc, team_id asc
        ) as payroll_quarter
    from salaried_team_seasons

),

by_era as (

    select
        era,
        min(season) as first_season,
        max(season) as last_season,
        count(*) as team_seasons,
        avg(payroll_usd) as average_payroll_usd,
        corr(payroll_usd, wins) as payroll_wins_correlation,
        corr(relative_payroll, win_pct)
            as relative_payroll_win_pct_correlation,
        1000000 * {{ safe_divide('sum(wins)', 'sum(payroll_usd)') }}
            as wins_per_million_usd,
        {{ safe_divide(
            'sum(case when payroll_quarter = 1 and made_postseason'
            ~ ' then 1 else 0 end)',
            'sum(case when payroll_quarter = 1 then 1 else 0 end)'
        ) }} as top_quarter_postseason_rate,
        {{ safe_divide(
            'sum(case when payroll_quarter = 4 and made_postseason'
            ~ ' then 1 else 0 end)',
            'sum(case when payroll_quarter = 4 then 1 else 0 end)'
        ) }} as bottom_quarter_postseason_rate
    from relative_to_season
    group by era

)

select * from by_era
order by first_season
