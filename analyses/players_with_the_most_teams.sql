-- Question: Which players played for the most different franchises?
-- Answer shape: about 20 players, most franchises first: player, the
--   number of franchises and of team-seasons, seasons played, first and
--   last season, and a rank shared by ties.
-- Notes: regular seasons only. A player counts for a team when the
--   release has a batting, pitching or fielding line for him there, so
--   a September call-up who only pinch-ran still counts. Teams are
--   counted as franchises: a club that moved (the Braves from Boston to
--   Milwaukee to Atlanta) counts once, and a player who returned to a
--   club counts it once. Ties share a rank and every player ranked 20th
--   or better is listed, so a shared place can add a few rows.

with batting_stints as (

    select * from {{ ref('fct_batting_stints') }}

),

pitching_stints as (

    select * from {{ ref('fct_pitching_stints') }}

),

fielding_stints as (

    select * from {{ ref('fct_fielding_stints') }}

),

teams as (

    select * from {{ ref('dim_teams') }}

),

players as (

    select * from {{ ref('dim_players') }}

),

player_team_seasons as (

    select
        player_id,
        season,
        team_id
    from batting_stints
    where season_type = 'regular'

    union

    select
        player_id,
        season,
        team_id
    from pitching_stints
    where season_type = 'regular'

    union

    select
        player_id,
        season,
        team_id
    from fielding_stints
    where season_type = 'regular'

),

by_player as (

    select
        player_team_seasons.player_id,
        count(distinct teams.franchise_id) as franchises,
        count(*) as team_seasons,
        count(distinct player_team_seasons.season) as seasons,
        min(player_team_seasons.season) as first_season,
        max(player_team_seasons.season) as last_season
    from player_team_seasons
    inner join teams
        on
            player_team_seasons.season = teams.season
            and player_team_seasons.team_id = teams.team_id
    group by player_team_seasons.player_id

),

ranked as (

    select
        by_player.*,
        players.full_name,
        rank() over (order by by_player.franchises desc) as franchises_rank
    from by_player
    inner join players
        on by_player.player_id = players.player_id

)

select * from ranked
where franchises_rank <= 20
order by franchises_rank asc, team_seasons desc, player_id asc
