{#
    Rates scaled against the league, where 100 is league average and higher
    is better for both: OPS+ = 100 * (OBP / lgOBP + SLG / lgSLG - 1) and
    ERA+ = 100 * lgERA / ERA. Arguments are SQL expressions for the
    player's and the league's rates. Neither is adjusted for ballparks
    (the release has park factors only per team, not per player), so they
    run close to, not exactly at, published figures. Null when any input
    is null or a denominator is zero (an ERA of 0.00 has no ERA+).
#}
{% macro ops_plus(
    on_base_percentage,
    slugging_percentage,
    league_on_base_percentage,
    league_slugging_percentage
) -%}
    100 * (
        {{ diamond.safe_divide(on_base_percentage, league_on_base_percentage) }}
        + {{ diamond.safe_divide(
            slugging_percentage, league_slugging_percentage
        ) }}
        - 1
    )
{%- endmacro %}

{% macro era_plus(earned_run_average, league_earned_run_average) -%}
    100 * {{ diamond.safe_divide(
        league_earned_run_average, earned_run_average
    ) }}
{%- endmacro %}
