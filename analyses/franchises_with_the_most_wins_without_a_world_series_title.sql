-- Question: Which franchises have won the most regular-season games without
--   ever winning a World Series?
-- Answer shape: up to 15 franchises, most wins first: the franchise, the
--   seasons it played, its wins, losses and winning percentage, its
--   postseason trips and pennants, and whether it still plays.
-- Notes: franchises follow the release's franchise ids, so a club that
--   moved keeps one history (the Senators who became the Twins count as
--   one title-winning franchise). The release counts the 1884-1890 series
--   between league champions as World Series. Defunct franchises are
--   kept: they had every chance they will ever have. Wins run through
--   2020, the last season of the release.

with franchises as (

    select * from {{ ref('dim_franchises') }}

),

team_seasons as (

    select * from {{ ref('fct_team_seasons') }}

),

franchise_records as (

    select
        franchise_id,
        sum(wins) as wins,
        sum(losses) as losses
    from team_seasons
    group by franchise_id

),

without_title as (

    select
        franchises.franchise_id,
        franchises.franchise_name,
        franchises.latest_team_name,
        franchises.is_active,
        franchises.first_season,
        franchises.last_season,
        franchises.team_seasons,
        franchise_records.wins,
        franchise_records.losses,
        {{ safe_divide(
            'franchise_records.wins',
            'franchise_records.wins + franchise_records.losses'
        ) }} as win_pct,
        franchises.postseason_appearances,
        franchises.pennants
    from franchises
    inner join franchise_records
        on franchises.franchise_id = franchise_records.franchise_id
    where franchises.world_series_titles = 0

),

ranked as (

    select
        *,
        rank() over (order by wins desc) as wins_rank
    from without_title

)

select * from ranked
where wins_rank <= 15
order by wins_rank, franchise_id
