with appearances as (

    select * from {{ ref('stg_lahman__appearances') }}

),

{#
    Career games per fielding position. Outfield games the release does not
    split into left, center and right (early seasons) count as "OF".
#}
career_games as (

    select
        player_id,
        sum(coalesce(pitcher_games, 0)) as games_p,
        sum(coalesce(catcher_games, 0)) as games_c,
        sum(coalesce(first_base_games, 0)) as games_1b,
        sum(coalesce(second_base_games, 0)) as games_2b,
        sum(coalesce(third_base_games, 0)) as games_3b,
        sum(coalesce(shortstop_games, 0)) as games_ss,
        sum(coalesce(left_field_games, 0)) as games_lf,
        sum(coalesce(center_field_games, 0)) as games_cf,
        sum(coalesce(right_field_games, 0)) as games_rf,
        sum(
            greatest(
                coalesce(outfield_games, 0)
                - coalesce(left_field_games, 0)
                - coalesce(center_field_games, 0)
                - coalesce(right_field_games, 0),
                0
            )
        ) as games_of,
        sum(coalesce(designated_hitter_games, 0)) as games_dh
    from appearances
    group by player_id

),

{# Scorebook numbers order the positions when games are level. #}
positions as (

    select
        scorebook.position,
        scorebook.scorebook_order
    from (
        values
        ('P', 1),
        ('C', 2),
        ('1B', 3),
        ('2B', 4),
        ('3B', 5),
        ('SS', 6),
        ('LF', 7),
        ('CF', 8),
        ('RF', 9),
        ('OF', 10),
        ('DH', 11)
    ) as scorebook (position, scorebook_order)

),

unpivoted as (

    select
        career_games.player_id,
        positions.position,
        positions.scorebook_order,
        cast(
            case positions.position
                when 'P' then career_games.games_p
                when 'C' then career_games.games_c
                when '1B' then career_games.games_1b
                when '2B' then career_games.games_2b
                when '3B' then career_games.games_3b
                when 'SS' then career_games.games_ss
                when 'LF' then career_games.games_lf
                when 'CF' then career_games.games_cf
                when 'RF' then career_games.games_rf
                when 'OF' then career_games.games_of
                when 'DH' then career_games.games_dh
            end as integer
        ) as games
    from career_games
    cross join positions

),

ranked as (

    select
        player_id,
        position,
        games,
        row_number() over (
            partition by player_id
            order by games desc, scorebook_order asc
        ) as position_rank
    from unpivoted
    where games > 0

)

select * from ranked
