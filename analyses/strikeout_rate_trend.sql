-- Question: How has the strikeout rate moved over baseball's history, and
--   which season struck out the most in each decade?
-- Answer shape: one row per decade, oldest first: seasons covered,
--   strikeouts per plate appearance and per nine innings, the change in
--   strikeouts per plate appearance from the decade before, and the
--   decade's season with the highest strikeout rate.
-- Notes: strikeouts are those charged to pitchers, which the release holds
--   for every season (batters' strikeouts are missing in some early
--   years). Plate appearances come from batting lines and leave out
--   catcher's interference. The 1870s include the National Association
--   (1871-1875), whose pitchers threw underhand to batters who could ask
--   for a high or low pitch. The 2020s hold only the 60-game 2020 season.

with league_seasons as (

    select * from {{ ref('fct_league_seasons') }}

),

seasons as (

    select
        season,
        season - mod(season, 10) as decade,
        sum(pitcher_strikeouts) as strikeouts,
        sum(plate_appearances) as plate_appearances,
        sum(outs_pitched) as outs_pitched
    from league_seasons
    group by season

),

ranked_seasons as (

    select
        *,
        row_number() over (
            partition by decade
            order by
                {{ safe_divide('strikeouts', 'plate_appearances') }} desc,
                season asc
        ) as strikeout_rate_rank
    from seasons

),

by_decade as (

    select
        decade,
        count(*) as seasons,
        {{ safe_divide('sum(strikeouts)', 'sum(plate_appearances)') }}
            as strikeouts_per_plate_appearance,
        {{ safe_divide('27 * sum(strikeouts)', 'sum(outs_pitched)') }}
            as strikeouts_per_nine,
        max(
            case when strikeout_rate_rank = 1 then season end
        ) as highest_rate_season,
        max(
            case
                when strikeout_rate_rank = 1
                    then {{ safe_divide('strikeouts', 'plate_appearances') }}
            end
        ) as highest_season_strikeouts_per_plate_appearance
    from ranked_seasons
    group by decade

),

with_change as (

    select
        *,
        strikeouts_per_plate_appearance
        - lag(strikeouts_per_plate_appearance) over (order by decade)
            as strikeouts_per_plate_appearance_change
    from by_decade

)

select * from with_change
order by decade
