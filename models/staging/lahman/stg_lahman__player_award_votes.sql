with source as (

    select * from {{ source('lahman', 'awards_share_players') }}

),

renamed as (

    select
        {{ clean_text('award_id') }} as award_id,
        cast(year_id as integer) as season,
        {{ clean_text('lg_id') }} as league_id,
        {{ clean_text('player_id') }} as player_id,
        cast(points_won as {{ type_double() }}) as points_won,
        cast(points_max as integer) as points_possible,
        cast(votes_first as {{ type_double() }}) as first_place_votes
    from source

)

select * from renamed
