with manager_stints as (

    select * from {{ ref('stg_lahman__manager_stints') }}

),

team_seasons as (

    select * from {{ ref('stg_lahman__team_seasons') }}

),

stints_per_team_season as (

    select
        season,
        team_id,
        count(*) as manager_stints
    from manager_stints
    group by
        season,
        team_id

),

{#
    A stint whose wins and losses add up to more than its games is a typing
    error in the release. When that manager ran the team all season long the
    team's own record is the same record, so it replaces the broken one;
    otherwise the stint is kept as it is (and the mart's tests report it).
#}
reconciled as (

    select
        {{ team_season_id('stints.season', 'stints.team_id') }}
            as team_season_id,
        stints.player_id,
        stints.season,
        stints.team_id,
        stints.league_id,
        stints.manager_order,
        stints.games,
        stints.standings_rank,
        stints.is_player_manager,
        coalesce(
            stints.wins + stints.losses > stints.games
            and counts.manager_stints = 1,
            false
        ) as is_record_from_team_season,
        case
            when
                stints.wins + stints.losses > stints.games
                and counts.manager_stints = 1
                then teams.wins
            else stints.wins
        end as wins,
        case
            when
                stints.wins + stints.losses > stints.games
                and counts.manager_stints = 1
                then teams.losses
            else stints.losses
        end as losses
    from manager_stints as stints
    inner join stints_per_team_season as counts
        on
            stints.season = counts.season
            and stints.team_id = counts.team_id
    left join team_seasons as teams
        on
            stints.season = teams.season
            and stints.team_id = teams.team_id

)

select * from reconciled
