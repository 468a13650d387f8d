with team_seasons as (

    select * from {{ ref('stg_lahman__team_seasons') }}

),

payrolls as (

    select * from {{ ref('int_team_payrolls_summed') }}

),

team_postseasons as (

    select * from {{ ref('int_team_postseasons_aggregated') }}

),

keyed_team_seasons as (

    select
        {{ team_season_id('season', 'team_id') }} as team_season_id,
        *
    from team_seasons

),

{#
    Salaries are recorded from 1985 on; a team-season without salary rows
    has an unknown payroll (null), never a payroll of zero.
#}
records as (

    select
        teams.team_season_id,
        teams.season,
        teams.team_id,
        teams.franchise_id,
        teams.league_id,
        teams.division_id,
        teams.standings_rank,
        teams.games,
        teams.home_games,
        teams.wins,
        teams.losses,
        teams.runs as runs_scored,
        teams.runs_allowed,
        teams.attendance,
        teams.batting_park_factor,
        teams.pitching_park_factor,
        payrolls.payroll_usd,
        payrolls.salaried_players,
        teams.is_division_winner,
        teams.is_wild_card_winner,
        teams.is_league_champion,
        teams.is_world_series_winner,
        team_postseasons.team_season_id is not null as made_postseason,
        team_postseasons.postseason_series_played,
        team_postseasons.postseason_series_won,
        team_postseasons.postseason_games_won,
        team_postseasons.postseason_games_lost,
        team_postseasons.last_postseason_round,
        team_postseasons.postseason_result,
        {{ safe_divide('teams.wins', 'teams.wins + teams.losses') }}
            as win_pct,
        {{ pythagorean_win_pct('teams.runs', 'teams.runs_allowed') }}
            as pythagorean_win_pct
    from keyed_team_seasons as teams
    left join payrolls
        on teams.team_season_id = payrolls.team_season_id
    left join team_postseasons
        on teams.team_season_id = team_postseasons.team_season_id

),

final as (

    select
        cast(team_season_id as varchar) as team_season_id,
        cast(season as integer) as season,
        cast(team_id as varchar) as team_id,
        cast(franchise_id as varchar) as franchise_id,
        cast(league_id as varchar) as league_id,
        cast(division_id as varchar) as division_id,
        cast(standings_rank as integer) as standings_rank,
        cast(games as integer) as games,
        cast(wins as integer) as wins,
        cast(losses as integer) as losses,
        cast(win_pct as {{ type_double() }}) as win_pct,
        cast(runs_scored as integer) as runs_scored,
        cast(runs_allowed as integer) as runs_allowed,
        cast(runs_scored - runs_allowed as integer) as run_differential,
        cast(pythagorean_win_pct as {{ type_double() }})
            as pythagorean_win_pct,
        cast(pythagorean_win_pct * (wins + losses) as {{ type_double() }})
            as pythagorean_wins,
        cast(
            wins - pythagorean_win_pct * (wins + losses)
            as {{ type_double() }}
        ) as wins_above_pythagorean,
        cast(home_games as integer) as home_games,
        cast(attendance as bigint) as attendance,
        cast(
            {{ safe_divide('attendance', 'home_games') }}
            as {{ type_double() }}
        ) as attendance_per_home_game,
        cast(batting_park_factor as integer) as batting_park_factor,
        cast(pitching_park_factor as integer) as pitching_park_factor,
        cast(payroll_usd as bigint) as payroll_usd,
        cast(salaried_players as integer) as salaried_players,
        cast(
            {{ safe_divide('payroll_usd', 'wins') }}
            as {{ type_double() }}
        ) as payroll_usd_per_win,
        coalesce(is_division_winner, false) as is_division_winner,
        coalesce(is_wild_card_winner, false) as is_wild_card_winner,
        coalesce(is_league_champion, false) as is_league_champion,
        coalesce(is_world_series_winner, false) as is_world_series_winner,
        made_postseason,
        cast(coalesce(postseason_series_played, 0) as integer)
            as postseason_series_played,
        cast(coalesce(postseason_series_won, 0) as integer)
            as postseason_series_won,
        cast(coalesce(postseason_games_won, 0) as integer)
            as postseason_games_won,
        cast(coalesce(postseason_games_lost, 0) as integer)
            as postseason_games_lost,
        cast(last_postseason_round as varchar) as last_postseason_round,
        cast(postseason_result as varchar) as postseason_result
    from records

)

select * from final
