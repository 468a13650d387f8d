-- Injured-list stints de-identified by the HIPAA Safe Harbor method: of
-- the 18 identifier kinds, none is kept. Names, places below the state,
-- phone, email, SSN, record, plan, account and any other ids are dropped;
-- dates are reduced to the year; ages over 89 are grouped as 90. The
-- person behind a row cannot be looked up, not even by a pseudonym.
with stints as (

    select * from {{ ref('stg_synthetic__player_medical_stints') }}

),

people as (

    select
        {{ keyed_hash('player_id') }} as player_key,
        birth_year
    from {{ ref('stg_lahman__people') }}

),

deidentified as (

    select
        stints.year_id as injury_year,
        {{ mask('age_at_injury', 'stints.year_id - people.birth_year') }}
            as age_at_injury,
        stints.diagnosis,
        stints.body_part,
        stints.treatment,
        stints.days_missed,
        stints.season_ending
    from stints
    left join people
        on stints.player_key = people.player_key

),

numbered as (

    -- The key is a row number drawn from the de-identified values alone,
    -- so nothing about the patient can be derived from it.
    select
        deidentified.injury_year,
        deidentified.age_at_injury,
        deidentified.diagnosis,
        deidentified.body_part,
        deidentified.treatment,
        deidentified.days_missed,
        deidentified.season_ending,
        row_number() over (
            order by
                deidentified.injury_year,
                deidentified.age_at_injury,
                deidentified.diagnosis,
                deidentified.body_part,
                deidentified.treatment,
                deidentified.days_missed,
                deidentified.season_ending
        ) as injury_number
    from deidentified

)

select * from numbered
