-- Question: Which colleges produced the most major leaguers, and whose
--   alumni collected the most career hits?
-- Answer shape: the colleges in the top 15 by players or by career hits
--   (about 20 rows), ordered by players: the school, its major leaguers,
--   their career regular-season hits and home runs, Hall of Famers among
--   them, and the school's rank on players and on hits.
-- Notes: a player counts for the first college the release lists for him,
--   so a transfer counts once. The release's college records are
--   incomplete, above all before the 1950s, and many players never went
--   to college at all. Hits include every season a player batted,
--   pitchers' at bats too. Ties share a rank.

with players as (

    select * from {{ ref('dim_players') }}

),

batting_careers as (

    select * from {{ ref('fct_batting_careers') }}

),

regular_careers as (

    select
        player_id,
        hits,
        home_runs
    from batting_careers
    where season_type = 'regular'

),

by_college as (

    select
        players.college_school_id,
        players.college_name,
        count(*) as major_leaguers,
        sum(
            case when players.is_hall_of_famer then 1 else 0 end
        ) as hall_of_famers,
        coalesce(sum(regular_careers.hits), 0) as career_hits,
        coalesce(sum(regular_careers.home_runs), 0) as career_home_runs
    from players
    left join regular_careers
        on players.player_id = regular_careers.player_id
    where players.college_school_id is not null
    group by
        players.college_school_id,
        players.college_name

),

ranked as (

    select
        *,
        rank() over (order by major_leaguers desc) as major_leaguers_rank,
        rank() over (order by career_hits desc) as career_hits_rank
    from by_college

)

select * from ranked
where major_leaguers_rank <= 15 or career_hits_rank <= 15
order by major_leaguers_rank, career_hits_rank, college_school_id
