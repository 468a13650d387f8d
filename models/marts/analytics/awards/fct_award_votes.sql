with player_votes as (

    select * from {{ ref('stg_lahman__player_award_votes') }}

),

manager_votes as (

    select * from {{ ref('stg_lahman__manager_award_votes') }}

),

unioned as (

    select
        'player' as award_type,
        award_id,
        season,
        league_id,
        player_id,
        cast(points_won as {{ type_double() }}) as points_won,
        points_possible,
        cast(first_place_votes as {{ type_double() }}) as first_place_votes
    from player_votes

    union all

    select
        'manager' as award_type,
        award_id,
        season,
        league_id,
        player_id,
        cast(points_won as {{ type_double() }}) as points_won,
        points_possible,
        cast(first_place_votes as {{ type_double() }}) as first_place_votes
    from manager_votes

),

ranked as (

    select
        *,
        rank() over (
            partition by award_type, award_id, season, league_id
            order by points_won desc
        ) as vote_rank
    from unioned

),

final as (

    select
        cast(award_type as varchar) as award_type,
        cast(award_id as varchar) as award_id,
        cast(season as integer) as season,
        cast(league_id as varchar) as league_id,
        cast(player_id as varchar) as player_id,
        cast(points_won as {{ type_double() }}) as points_won,
        cast(points_possible as integer) as points_possible,
        cast(
            {{ safe_divide('points_won', 'points_possible') }}
            as {{ type_double() }}
        ) as share_of_maximum,
        cast(first_place_votes as {{ type_double() }}) as first_place_votes,
        cast(vote_rank as integer) as vote_rank,
        vote_rank = 1 as is_top_vote_getter
    from ranked

)

select * from final
