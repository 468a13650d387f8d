with player_awards as (

    select * from {{ ref('stg_lahman__player_awards') }}

),

manager_awards as (

    select * from {{ ref('stg_lahman__manager_awards') }}

),

unioned as (

    select
        'player' as award_type,
        player_id,
        award_id,
        season,
        league_id,
        is_tie,
        notes as award_note
    from player_awards

    union all

    select
        'manager' as award_type,
        player_id,
        award_id,
        season,
        league_id,
        is_tie,
        notes as award_note
    from manager_awards

),

{#
    The same person can win one award several times in a season (once per
    position for all-star teams), and the league or note may be missing, so
    the key is spelled out as one text value with empty parts for nulls.
#}
final as (

    select
        cast(
            award_type
            || '|' || award_id
            || '|' || cast(season as varchar)
            || '|' || coalesce(league_id, '')
            || '|' || player_id
            || '|' || coalesce(award_note, '')
            as varchar
        ) as award_key,
        cast(award_type as varchar) as award_type,
        cast(award_id as varchar) as award_id,
        cast(season as integer) as season,
        cast(league_id as varchar) as league_id,
        cast(player_id as varchar) as player_id,
        cast(award_note as varchar) as award_note,
        coalesce(is_tie, false) as is_tie
    from unioned

)

select * from final
