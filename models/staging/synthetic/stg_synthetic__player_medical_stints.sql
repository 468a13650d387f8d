-- Injured-list stints with direct identifiers masked. The player is kept
-- only as a keyed pseudonym, so injuries can be counted per player without
-- naming him; the de-identified mart goes further (HIPAA Safe Harbor).
with source as (

    select * from {{ source('synthetic', 'player_medical_stints') }}

),

masked as (

    select
        {{ mask('stint_key', 'stint_id') }} as stint_key,
        {{ mask('player_key', 'player_id') }} as player_key,
        {{ mask('year_id') }} as year_id,
        {{ mask('team_id') }} as team_id,
        {{ mask('medical_record_key', 'medical_record_number') }}
            as medical_record_key,
        {{ mask('health_plan_id') }} as health_plan_id,
        {{ mask('diagnosis') }} as diagnosis,
        {{ mask('body_part') }} as body_part,
        {{ mask('treatment') }} as treatment,
        {{ mask('physician_name') }} as physician_name,
        {{ mask('facility_city') }} as facility_city,
        {{ mask('injury_month', 'injury_date') }} as injury_month,
        {{ mask('return_month', 'return_date') }} as return_month,
        return_date is null as season_ending,
        {{ mask('days_missed') }} as days_missed,
        {{ mask('clinical_notes') }} as clinical_notes
    from source

)

select * from masked
