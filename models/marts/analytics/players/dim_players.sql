with people as (

    select * from {{ ref('stg_lahman__people') }}

),

appearances as (

    select * from {{ ref('stg_lahman__appearances') }}

),

positions as (

    select * from {{ ref('int_player_positions_ranked') }}

),

college_seasons as (

    select * from {{ ref('stg_lahman__college_seasons') }}

),

schools as (

    select * from {{ ref('stg_lahman__schools') }}

),

hall_of_fame_votes as (

    select * from {{ ref('stg_lahman__hall_of_fame_votes') }}

),

playing_span as (

    select
        player_id,
        min(season) as first_season,
        max(season) as last_season,
        count(distinct season) as seasons_played
    from appearances
    group by player_id

),

primary_position as (

    select
        player_id,
        position,
        games
    from positions
    where position_rank = 1

),

{#
    The first school is the one of the earliest college season; two schools
    in that season are ordered by school id so the choice is stable.
#}
first_school as (

    select
        college_seasons.player_id,
        college_seasons.school_id,
        schools.school_name,
        row_number() over (
            partition by college_seasons.player_id
            order by college_seasons.season asc, college_seasons.school_id asc
        ) as school_order
    from college_seasons
    left join schools
        on college_seasons.school_id = schools.school_id

),

induction as (

    select
        player_id,
        min(season) as induction_season,
        min(category) as induction_category
    from hall_of_fame_votes
    where is_inducted
    group by player_id

),

final as (

    select
        cast(people.player_id as varchar) as player_id,
        cast(people.first_name as varchar) as first_name,
        cast(people.last_name as varchar) as last_name,
        cast(people.given_name as varchar) as given_name,
        cast(
            coalesce(
                people.first_name || ' ' || people.last_name,
                people.last_name,
                people.first_name
            ) as varchar
        ) as full_name,
        cast(people.bats as varchar) as bats,
        cast(people.throws as varchar) as throws,
        cast(people.height_inches as integer) as height_inches,
        cast(people.weight_lbs as integer) as weight_lbs,
        cast(people.birth_date as date) as birth_date,
        cast(people.birth_year as integer) as birth_year,
        cast(people.birth_country as varchar) as birth_country,
        cast(people.birth_state as varchar) as birth_state,
        cast(people.birth_city as varchar) as birth_city,
        cast(people.death_date as date) as death_date,
        cast(people.death_year as integer) as death_year,
        cast(people.death_country as varchar) as death_country,
        cast(people.death_state as varchar) as death_state,
        cast(people.death_city as varchar) as death_city,
        cast(people.debut_date as date) as debut_date,
        cast(people.final_game_date as date) as final_game_date,
        cast(playing_span.first_season as integer) as first_season,
        cast(playing_span.last_season as integer) as last_season,
        cast(playing_span.seasons_played as integer) as seasons_played,
        cast(primary_position.position as varchar) as primary_position,
        cast(primary_position.games as integer) as primary_position_games,
        cast(first_school.school_id as varchar) as college_school_id,
        cast(first_school.school_name as varchar) as college_name,
        cast(induction.induction_season as integer)
            as hall_of_fame_induction_year,
        cast(induction.induction_category as varchar)
            as hall_of_fame_category,
        cast(people.bbref_id as varchar) as bbref_id,
        cast(people.retro_id as varchar) as retro_id,
        induction.player_id is not null as is_hall_of_famer
    from people
    left join playing_span
        on people.player_id = playing_span.player_id
    left join primary_position
        on people.player_id = primary_position.player_id
    left join first_school
        on
            people.player_id = first_school.player_id
            and first_school.school_order = 1
    left join induction
        on people.player_id = induction.player_id

)

select * from final
