{#
    The Marcel projection of each row of ml_next_season_features: the
    public baseline every projection system is measured against.

    For each batting event (singles, doubles, triples, home runs, walks,
    hit by pitch, sacrifice flies and hits) the player's last three seasons
    are weighted 5, 4 and 3. The weighted counts are regressed toward the
    league by adding 1200 plate appearances at the league rate, where the
    league rate is that of non-pitchers in the same three seasons, weighted
    the same way by the player's plate appearances. The hitting events are
    then scaled for age: up 0.6% a year below 29, down 0.3% a year above.
    OPS follows from the projected rates, and playing time is projected as
    half of last season's plate appearances, a tenth of the season before,
    plus 200. The weights, regression and aging are vars.
#}
{%- set events = [
    'singles', 'doubles', 'triples', 'home_runs',
    'walks', 'hit_by_pitch', 'sacrifice_flies', 'sacrifice_hits',
] -%}
{%- set aged_events = [
    'singles', 'doubles', 'triples', 'home_runs', 'walks', 'hit_by_pitch',
] -%}
{%- set weights = var('marcel_season_weights') -%}
{%- set regression = var('marcel_regression_plate_appearances') -%}
{%- set peak_age = var('marcel_peak_age') -%}

with features as (

    select * from {{ ref('ml_next_season_features') }}

),

hitter_seasons as (

    select * from {{ ref('ml_hitter_seasons') }}

),

league_rates as (

    select
        season,
    {%- for event in events %}
        {{ safe_divide('sum(' ~ event ~ ')', 'sum(plate_appearances)') }}
            as league_{{ event }}_rate{{ "," if not loop.last }}  -- noqa: LT02
    {%- endfor %}
    from hitter_seasons
    where not is_pitcher
    group by season

),

season_weights as (

    {%- for weight in weights %}
        select
            {{ loop.index }} as seasons_back,
            {{ weight }} as weight
        {{ "union all" if not loop.last }}
    {%- endfor %}

),

{# One row per projected season and each of the three seasons before it,
   whether or not the player batted in it. #}

history as (

    select
        features.player_id,
        features.target_season,
        features.age,
        season_weights.seasons_back,
        season_weights.weight,
        coalesce(seasons.plate_appearances, 0) as plate_appearances,
    {%- for event in events %}
        coalesce(seasons.{{ event }}, 0) as {{ event }},
        league_rates.league_{{ event }}_rate
        {{- "," if not loop.last }}
    {%- endfor %}
    from features
    cross join season_weights
    left join hitter_seasons as seasons
        on
            features.player_id = seasons.player_id
            and features.target_season - season_weights.seasons_back
            = seasons.season
    left join league_rates
        on
            features.target_season - season_weights.seasons_back
            = league_rates.season

),

weighted as (

    select
        player_id,
        target_season,
        max(age) as age,
        sum(weight * plate_appearances) as weighted_plate_appearances,
        max(case when seasons_back = 1 then plate_appearances end)
            as lag1_plate_appearances,
        max(case when seasons_back = 2 then plate_appearances end)
            as lag2_plate_appearances,
    {%- for event in events %}
        sum(weight * {{ event }}) as weighted_{{ event }},
        sum(
            weight * plate_appearances
            * coalesce(league_{{ event }}_rate, 0)
        ) as league_weighted_{{ event }}
        {{- "," if not loop.last }}
    {%- endfor %}
    from history
    group by
        player_id,
        target_season

),

regressed as (

    select
        player_id,
        target_season,
        age,
        weighted_plate_appearances,
        lag1_plate_appearances,
        lag2_plate_appearances,
        case
            when age is null then 1.0
            when age > {{ peak_age }}
                then
                    1.0 + ({{ peak_age }} - age)
                    * {{ var('marcel_aging_decline_per_year') }}
            else
                1.0 + ({{ peak_age }} - age)
                * {{ var('marcel_aging_growth_per_year') }}
        end as age_factor,
    {%- for event in events %}
        (
            weighted_{{ event }}
            + {{ regression }}
            * {{ safe_divide(
                    'league_weighted_' ~ event,
                    'weighted_plate_appearances'
                ) }}
        )
        / (weighted_plate_appearances + {{ regression }})
            as shrunk_{{ event }}_rate{{ "," if not loop.last }}  -- noqa: LT02
    {%- endfor %}
    from weighted

),

aged as (

    select
        player_id,
        target_season,
        age,
        age_factor,
        weighted_plate_appearances,
        lag1_plate_appearances,
        lag2_plate_appearances,
    {%- for event in events %}
        shrunk_{{ event }}_rate
        {%- if event in aged_events %} * age_factor{% endif %}
            as {{ event }}_rate{{ "," if not loop.last }}  -- noqa: LT02
    {%- endfor %}
    from regressed

),

rates as (

    select
        *,
        singles_rate + doubles_rate + triples_rate + home_runs_rate
            as hits_rate,
        1.0 - walks_rate - hit_by_pitch_rate - sacrifice_flies_rate
        - sacrifice_hits_rate as at_bats_rate,
        singles_rate + 2 * doubles_rate + 3 * triples_rate
        + 4 * home_runs_rate as total_bases_rate
    from aged

),

final as (

    select
        cast(player_id as varchar) as player_id,
        cast(target_season as integer) as target_season,
        cast(age_factor as {{ type_double() }}) as age_factor,
        cast(
            {{ safe_divide(
                'weighted_plate_appearances',
                'weighted_plate_appearances + ' ~ regression
            ) }} as {{ type_double() }}
        ) as reliability,
        cast(
            0.5 * lag1_plate_appearances
            + 0.1 * coalesce(lag2_plate_appearances, 0)
            + 200 as {{ type_double() }}
        ) as projected_plate_appearances,
        cast(
            {{ safe_divide(
                'hits_rate + walks_rate + hit_by_pitch_rate',
                '1.0 - sacrifice_hits_rate'
            ) }} as {{ type_double() }}
        ) as projected_on_base_percentage,
        cast(
            {{ safe_divide('total_bases_rate', 'at_bats_rate') }}
            as {{ type_double() }}
        ) as projected_slugging_percentage,
        cast(
            {{ safe_divide(
                'hits_rate + walks_rate + hit_by_pitch_rate',
                '1.0 - sacrifice_hits_rate'
            ) }}
            + {{ safe_divide('total_bases_rate', 'at_bats_rate') }}
            as {{ type_double() }}
        ) as projected_on_base_plus_slugging
    from rates

)

select * from final
