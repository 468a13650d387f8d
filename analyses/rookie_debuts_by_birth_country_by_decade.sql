-- Question: Where were the players who reached the majors in each decade
--   born, and how has the share born outside the United States grown?
-- Answer shape: one row per decade of debut, oldest first: debuts, debuts
--   by players born in the United States and elsewhere, the foreign-born
--   share, the number of birth countries, and the foreign country that
--   sent the most debutants that decade with its count.
-- Notes: the decade is that of the player's major-league debut date;
--   players without a debut date or a birth country in the release are
--   left out. Countries are as the release spells them (Puerto Rico,
--   "P.R.", is counted apart from the United States). The 2020s hold one
--   season. A tie for the leading foreign country goes to the country
--   name that sorts first.

with players as (

    select * from {{ ref('dim_players') }}

),

debuts as (

    select
        player_id,
        birth_country,
        cast(extract(year from debut_date) as integer) as debut_season
    from players
    where
        debut_date is not null
        and birth_country is not null

),

by_decade_and_country as (

    select
        birth_country,
        debut_season - mod(debut_season, 10) as decade,
        count(*) as debuts
    from debuts
    group by
        birth_country,
        debut_season - mod(debut_season, 10)

),

ranked_foreign as (

    select
        *,
        row_number() over (
            partition by decade
            order by
                case when birth_country = 'USA' then 1 else 0 end,
                debuts desc,
                birth_country asc
        ) as foreign_rank
    from by_decade_and_country

),

by_decade as (

    select
        decade,
        sum(debuts) as debuts,
        sum(
            case when birth_country = 'USA' then debuts else 0 end
        ) as united_states_debuts,
        sum(
            case when birth_country != 'USA' then debuts else 0 end
        ) as foreign_debuts,
        count(*) as birth_countries,
        max(
            case
                when foreign_rank = 1 and birth_country != 'USA'
                    then birth_country
            end
        ) as leading_foreign_country,
        max(
            case
                when foreign_rank = 1 and birth_country != 'USA'
                    then debuts
            end
        ) as leading_foreign_country_debuts
    from ranked_foreign
    group by decade

),

with_share as (

    select
        *,
        {{ safe_divide('foreign_debuts', 'debuts') }} as foreign_born_share
    from by_decade

)

select * from with_share
order by decade
