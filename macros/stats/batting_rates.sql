{#
    The standard batting rate statistics. Every argument is a SQL expression
    (a column name by default), so the same formula serves a stint, a
    season, a career, a rolling window or a league total. Results are
    doubles through safe_divide and null when the denominator is zero, so a
    pitcher with no at bats has no average rather than a division error.
    Missing hit by pitch and sacrifice flies (early seasons) count as zero;
    missing strikeouts make BABIP null, because treating them as zero would
    overstate balls in play.
#}
{% macro batting_average(hits='hits', at_bats='at_bats') -%}
    {{ diamond.safe_divide(hits, at_bats) }}
{%- endmacro %}

{% macro on_base_percentage(
    hits='hits',
    walks='walks',
    hit_by_pitch='hit_by_pitch',
    at_bats='at_bats',
    sacrifice_flies='sacrifice_flies'
) -%}
    {%- set times_on_base -%}
        ({{ hits }}) + ({{ walks }}) + coalesce({{ hit_by_pitch }}, 0)
    {%- endset -%}
    {%- set chances -%}
        ({{ at_bats }}) + ({{ walks }}) + coalesce({{ hit_by_pitch }}, 0)
        + coalesce({{ sacrifice_flies }}, 0)
    {%- endset -%}
    {{ diamond.safe_divide(times_on_base, chances) }}
{%- endmacro %}

{% macro slugging_percentage(
    hits='hits',
    doubles='doubles',
    triples='triples',
    home_runs='home_runs',
    at_bats='at_bats'
) -%}
    {{ diamond.safe_divide(
        diamond.total_bases(hits, doubles, triples, home_runs),
        at_bats
    ) }}
{%- endmacro %}

{% macro on_base_plus_slugging(
    hits='hits',
    doubles='doubles',
    triples='triples',
    home_runs='home_runs',
    walks='walks',
    hit_by_pitch='hit_by_pitch',
    at_bats='at_bats',
    sacrifice_flies='sacrifice_flies'
) -%}
    (
        {{ diamond.on_base_percentage(
            hits, walks, hit_by_pitch, at_bats, sacrifice_flies
        ) }}
        + {{ diamond.slugging_percentage(
            hits, doubles, triples, home_runs, at_bats
        ) }}
    )
{%- endmacro %}

{% macro isolated_power(
    doubles='doubles',
    triples='triples',
    home_runs='home_runs',
    at_bats='at_bats'
) -%}
    {%- set extra_bases -%}
        ({{ doubles }}) + 2 * ({{ triples }}) + 3 * ({{ home_runs }})
    {%- endset -%}
    {{ diamond.safe_divide(extra_bases, at_bats) }}
{%- endmacro %}

{% macro batting_average_on_balls_in_play(
    hits='hits',
    home_runs='home_runs',
    at_bats='at_bats',
    strikeouts='strikeouts',
    sacrifice_flies='sacrifice_flies'
) -%}
    {%- set balls_in_play -%}
        ({{ at_bats }}) - ({{ strikeouts }}) - ({{ home_runs }})
        + coalesce({{ sacrifice_flies }}, 0)
    {%- endset -%}
    {{ diamond.safe_divide(
        hits ~ ' - ' ~ home_runs, balls_in_play
    ) }}
{%- endmacro %}
