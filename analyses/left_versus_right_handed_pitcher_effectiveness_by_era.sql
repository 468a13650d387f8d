-- Question: Have left-handed pitchers been more or less effective than
--   right-handers, and has that changed by era?
-- Answer shape: one row per era and throwing hand (L or R), oldest era
--   first: pitchers, their share of the era's innings, earned run average,
--   walks plus hits per inning, strikeouts and walks per nine innings, and
--   the hand's ERA minus the era's ERA for both hands together (negative
--   is better than the era).
-- Notes: regular seasons only. Rates are pooled (total earned runs over
--   total innings), so pitchers with many innings weigh more. Pitchers
--   whose throwing hand is unknown (mostly nineteenth-century players) and
--   the one switch-pitcher are left out. Overhand pitching was allowed
--   only from 1884 and the pitching distance became the present one in
--   1893, so the earliest era mixes different games. Managers send
--   lefties against left-handed batters more often, which this split
--   does not control for.

with pitching_seasons as (

    select * from {{ ref('fct_pitching_seasons') }}

),

players as (

    select * from {{ ref('dim_players') }}

),

handed_seasons as (

    select
        {{ baseball_era('pitching_seasons.season') }} as era,
        players.throws,
        pitching_seasons.player_id,
        pitching_seasons.outs_pitched,
        pitching_seasons.earned_runs,
        pitching_seasons.hits_allowed,
        pitching_seasons.walks_allowed,
        pitching_seasons.strikeouts
    from pitching_seasons
    inner join players
        on pitching_seasons.player_id = players.player_id
    where
        pitching_seasons.season_type = 'regular'
        and players.throws in ('L', 'R')

),

by_era_and_hand as (

    select
        era,
        throws,
        count(distinct player_id) as pitchers,
        sum(outs_pitched) as outs_pitched,
        sum(earned_runs) as earned_runs,
        sum(hits_allowed) as hits_allowed,
        sum(walks_allowed) as walks_allowed,
        sum(strikeouts) as strikeouts
    from handed_seasons
    group by
        era,
        throws

),

with_rates as (

    select
        era,
        throws,
        pitchers,
        {{ safe_divide(
            'outs_pitched', 'sum(outs_pitched) over (partition by era)'
        ) }} as share_of_era_innings,
        {{ safe_divide('27 * earned_runs', 'outs_pitched') }}
            as earned_run_average,
        {{ safe_divide('3 * (hits_allowed + walks_allowed)', 'outs_pitched') }}
            as walks_hits_per_inning,
        {{ safe_divide('27 * strikeouts', 'outs_pitched') }}
            as strikeouts_per_nine,
        {{ safe_divide('27 * walks_allowed', 'outs_pitched') }}
            as walks_per_nine,
        {{ safe_divide('27 * earned_runs', 'outs_pitched') }}
        - {{ safe_divide(
            '27 * sum(earned_runs) over (partition by era)',
            'sum(outs_pitched) over (partition by era)'
        ) }} as earned_run_average_versus_era
    from by_era_and_hand

)

select * from with_rates
order by era, throws
