with hall_of_fame_votes as (

    select * from {{ ref('stg_lahman__hall_of_fame_votes') }}

),

final as (

    select
        cast(player_id as varchar) as player_id,
        cast(season as integer) as season,
        cast(voted_by as varchar) as voted_by,
        cast(category as varchar) as category,
        cast(ballots_cast as integer) as ballots_cast,
        cast(votes_needed as integer) as votes_needed,
        cast(votes_received as integer) as votes_received,
        cast(
            {{ safe_divide('votes_received', 'ballots_cast') }}
            as {{ type_double() }}
        ) as vote_share,
        cast(
            {{ safe_divide('votes_needed', 'ballots_cast') }}
            as {{ type_double() }}
        ) as needed_share,
        cast(votes_received - votes_needed as integer) as votes_over_needed,
        cast(votes_needed_note as varchar) as votes_needed_note,
        coalesce(is_inducted, false) as is_inducted
    from hall_of_fame_votes

)

select * from final
