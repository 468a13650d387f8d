-- Question: How do a candidate's career numbers relate to the share of the
--   writers' vote he reached for the Hall of Fame?
-- Answer shape: one row per role (hitter or pitcher) and band of best vote
--   share (under 5%, 5-25%, 25-50%, 50-75%, 75% and up), about ten rows:
--   candidates, how many the writers elected, average years on the
--   ballot, average career totals and rates for the role, and, repeated
--   on each row of a role, the correlation between best vote share and
--   the role's headline total (career hits for hitters, wins for
--   pitchers).
-- Notes: only Baseball Writers' Association ballots for players count;
--   committee, veterans and special elections are left out. A candidate
--   is a pitcher when pitching is his primary position in the player
--   mart, otherwise a hitter. Career numbers are regular-season totals.
--   Vote share is votes over ballots cast; 75% elects. Candidates who did
--   not appear on a ballot (too short a career, or not yet eligible) are
--   not in the table, and neither are modern signals such as WAR, which
--   the release does not hold.

with hall_of_fame_votes as (

    select * from {{ ref('fct_hall_of_fame_votes') }}

),

players as (

    select * from {{ ref('dim_players') }}

),

batting_careers as (

    select * from {{ ref('fct_batting_careers') }}

),

pitching_careers as (

    select * from {{ ref('fct_pitching_careers') }}

),

candidates as (

    select
        player_id,
        max(vote_share) as best_vote_share,
        count(*) as ballots_on,
        max(case when is_inducted then 1 else 0 end) as is_elected
    from hall_of_fame_votes
    where
        voted_by = 'BBWAA'
        and category = 'Player'
    group by player_id

),

candidate_careers as (

    select
        candidates.player_id,
        candidates.best_vote_share,
        candidates.ballots_on,
        candidates.is_elected,
        batting_careers.hits,
        batting_careers.home_runs,
        batting_careers.on_base_plus_slugging,
        pitching_careers.wins,
        pitching_careers.strikeouts,
        pitching_careers.earned_run_average,
        case
            when players.primary_position = 'P' then 'pitcher'
            else 'hitter'
        end as candidate_role,
        case
            when candidates.best_vote_share >= 0.75 then '75% and up'
            when candidates.best_vote_share >= 0.5 then '50% to 75%'
            when candidates.best_vote_share >= 0.25 then '25% to 50%'
            when candidates.best_vote_share >= 0.05 then '5% to 25%'
            else 'under 5%'
        end as vote_share_band,
        case
            when candidates.best_vote_share >= 0.75 then 75
            when candidates.best_vote_share >= 0.5 then 50
            when candidates.best_vote_share >= 0.25 then 25
            when candidates.best_vote_share >= 0.05 then 5
            else 0
        end as band_floor_percent
    from candidates
    inner join players
        on candidates.player_id = players.player_id
    left join batting_careers
        on
            candidates.player_id = batting_careers.player_id
            and batting_careers.season_type = 'regular'
    left join pitching_careers
        on
            candidates.player_id = pitching_careers.player_id
            and pitching_careers.season_type = 'regular'
    where candidates.best_vote_share is not null

),

role_correlations as (

    select
        candidate_role,
        corr(
            best_vote_share,
            cast(
                case when candidate_role = 'pitcher' then wins else hits end
                as {{ type_double() }}
            )
        ) as share_headline_correlation
    from candidate_careers
    group by candidate_role

),

by_band as (

    select
        candidate_role,
        band_floor_percent,
        vote_share_band,
        count(*) as candidates,
        sum(is_elected) as elected,
        avg(cast(ballots_on as {{ type_double() }})) as average_ballots_on,
        case
            when candidate_role = 'hitter'
                then avg(cast(hits as {{ type_double() }}))
        end as average_hits,
        case
            when candidate_role = 'hitter'
                then avg(cast(home_runs as {{ type_double() }}))
        end as average_home_runs,
        case
            when candidate_role = 'hitter'
                then avg(on_base_plus_slugging)
        end as average_on_base_plus_slugging,
        case
            when candidate_role = 'pitcher'
                then avg(cast(wins as {{ type_double() }}))
        end as average_wins,
        case
            when candidate_role = 'pitcher'
                then avg(cast(strikeouts as {{ type_double() }}))
        end as average_strikeouts,
        case
            when candidate_role = 'pitcher'
                then avg(earned_run_average)
        end as average_earned_run_average
    from candidate_careers
    group by
        candidate_role,
        band_floor_percent,
        vote_share_band

),

final as (

    select
        by_band.*,
        role_correlations.share_headline_correlation
    from by_band
    inner join role_correlations
        on by_band.candidate_role = role_correlations.candidate_role

)

select * from final
order by candidate_role, band_floor_percent
