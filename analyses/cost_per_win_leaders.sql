-- Question: Which teams bought their wins most cheaply, and which paid the
--   most per win, once salary inflation is taken out?
-- Answer shape: 20 rows, the 10 team-seasons with the lowest payroll per
--   win relative to their season and the 10 with the highest: team,
--   season, record, payroll, payroll per win, the season's payroll per
--   win across the teams kept, the ratio of the two and how the
--   postseason went.
-- Notes: salaries exist only for 1985-2016. Payroll is the sum of the
--   salaries the release records for the team-season, not the club's full
--   spending, and cost per win divides all of it by all wins, not by wins
--   above a replacement-level team. Dividing by the season's cost per win
--   (all payrolls over all wins) makes seasons comparable. Short seasons
--   (1994, 1995) hold fewer wins but their whole-season salaries, which
--   raises cost per win for every team alike. Team-seasons with salaries
--   for fewer players than the analysis_min_salaried_players var (20 by
--   default) are left out: their payroll is a fragment (1987 Texas has
--   four salaries on record), not a bargain.

{%- set min_salaried_players = var('analysis_min_salaried_players', 20) %}

with team_seasons as (

    select * from {{ ref('fct_team_seasons') }}

),

teams as (

    select * from {{ ref('dim_teams') }}

),

salaried as (

    select
        team_seasons.team_season_id,
        team_seasons.season,
        team_seasons.team_id,
        teams.team_name,
        team_seasons.wins,
        team_seasons.losses,
        team_seasons.payroll_usd,
        team_seasons.payroll_usd_per_win,
        team_seasons.postseason_result
    from team_seasons
    inner join teams
        on team_seasons.team_season_id = teams.team_season_id
    where
        team_seasons.payroll_usd is not null
        and team_seasons.salaried_players >= {{ min_salaried_players }}
        and team_seasons.wins > 0

),

with_season_cost as (

    select
        *,
        {{ safe_divide(
            'sum(payroll_usd) over (partition by season)',
            'sum(wins) over (partition by season)'
        ) }} as season_payroll_usd_per_win
    from salaried

),

relative_cost as (

    select
        *,
        {{ safe_divide('payroll_usd_per_win', 'season_payroll_usd_per_win') }}
            as cost_per_win_to_season
    from with_season_cost

),

ranked as (

    select
        *,
        row_number() over (
            order by cost_per_win_to_season asc, team_season_id asc
        ) as cheapest_rank,
        row_number() over (
            order by cost_per_win_to_season desc, team_season_id asc
        ) as costliest_rank
    from relative_cost

),

extremes as (

    select
        'cheapest' as direction,
        cheapest_rank as direction_rank,
        season,
        team_id,
        team_name,
        wins,
        losses,
        payroll_usd,
        payroll_usd_per_win,
        season_payroll_usd_per_win,
        cost_per_win_to_season,
        postseason_result
    from ranked
    where cheapest_rank <= 10

    union all

    select
        'costliest' as direction,
        costliest_rank as direction_rank,
        season,
        team_id,
        team_name,
        wins,
        losses,
        payroll_usd,
        payroll_usd_per_win,
        season_payroll_usd_per_win,
        cost_per_win_to_season,
        postseason_result
    from ranked
    where costliest_rank <= 10

)

select * from extremes
order by direction, direction_rank
