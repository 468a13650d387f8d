-- Question: Which hitters have been best in the postseason, and how did
--   they hit there compared with the regular season?
-- Answer shape: the top 20 postseason careers by OPS among hitters with
--   enough postseason plate appearances, best first: player, postseason
--   span, games, plate appearances, hits, home runs, the postseason slash
--   line and OPS, the player's regular-season career OPS and the
--   difference between the two.
-- Notes: the minimum is the analysis_min_postseason_plate_appearances var
--   (100 by default). Postseason rounds have multiplied (league
--   championship series from 1969, division series from 1995, wild card
--   games from 2012), so recent players have far more chances to reach
--   the minimum. The release's postseason batting begins with the 1884
--   series between league champions. OPS is not adjusted for the strong
--   pitching that October brings.

{%- set min_plate_appearances = var(
    'analysis_min_postseason_plate_appearances', 100
) %}

with batting_careers as (

    select * from {{ ref('fct_batting_careers') }}

),

players as (

    select * from {{ ref('dim_players') }}

),

postseason_careers as (

    select * from batting_careers
    where
        season_type = 'postseason'
        and plate_appearances >= {{ min_plate_appearances }}
        and on_base_plus_slugging is not null

),

regular_careers as (

    select
        player_id,
        on_base_plus_slugging
    from batting_careers
    where season_type = 'regular'

),

compared as (

    select
        postseason_careers.player_id,
        players.full_name,
        postseason_careers.first_season,
        postseason_careers.last_season,
        postseason_careers.games,
        postseason_careers.plate_appearances,
        postseason_careers.hits,
        postseason_careers.home_runs,
        postseason_careers.batting_average,
        postseason_careers.on_base_percentage,
        postseason_careers.slugging_percentage,
        postseason_careers.on_base_plus_slugging,
        regular_careers.on_base_plus_slugging
            as regular_season_on_base_plus_slugging,
        postseason_careers.on_base_plus_slugging
        - regular_careers.on_base_plus_slugging
            as on_base_plus_slugging_gain
    from postseason_careers
    inner join players
        on postseason_careers.player_id = players.player_id
    left join regular_careers
        on postseason_careers.player_id = regular_careers.player_id

),

ranked as (

    select
        *,
        rank() over (order by on_base_plus_slugging desc) as postseason_rank
    from compared

)

select * from ranked
where postseason_rank <= 20
order by postseason_rank, player_id
