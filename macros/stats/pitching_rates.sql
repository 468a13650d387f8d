{#
    The standard pitching rate statistics, all computed from outs rather
    than innings so that partial innings stay exact: nine innings are 27
    outs, so ERA = 9 * ER / IP = 27 * ER / outs. Arguments are SQL
    expressions (column names by default); results are doubles, null when
    no outs were recorded. Hit batters were not kept in some early seasons
    and count as zero in FIP.
#}
{% macro per_nine_innings(count, outs='outs_pitched') -%}
    {{ diamond.safe_divide('27 * (' ~ count ~ ')', outs) }}
{%- endmacro %}

{% macro earned_run_average(earned_runs='earned_runs', outs='outs_pitched') -%}
    {{ diamond.per_nine_innings(earned_runs, outs) }}
{%- endmacro %}

{% macro strikeouts_per_nine(strikeouts='strikeouts', outs='outs_pitched') -%}
    {{ diamond.per_nine_innings(strikeouts, outs) }}
{%- endmacro %}

{% macro walks_per_nine(walks='walks_allowed', outs='outs_pitched') -%}
    {{ diamond.per_nine_innings(walks, outs) }}
{%- endmacro %}

{% macro walks_hits_per_inning(
    walks='walks_allowed',
    hits='hits_allowed',
    outs='outs_pitched'
) -%}
    {{ diamond.safe_divide(
        '3 * ((' ~ walks ~ ') + (' ~ hits ~ '))', outs
    ) }}
{%- endmacro %}

{#
    FIP splits into the part a pitcher controls, (13 HR + 3 (BB + HBP) -
    2 K) / IP, and a league constant that puts the result on the ERA scale.
    fip_constant computes that constant from league totals; the constant
    argument of fielding_independent_pitching takes it back (a column or a
    number).
#}
{% macro fip_core(
    home_runs='home_runs_allowed',
    walks='walks_allowed',
    hit_batters='hit_batters',
    strikeouts='strikeouts',
    outs='outs_pitched'
) -%}
    {%- set weighted_events -%}
        3 * (
            13 * ({{ home_runs }})
            + 3 * (({{ walks }}) + coalesce({{ hit_batters }}, 0))
            - 2 * ({{ strikeouts }})
        )
    {%- endset -%}
    {{ diamond.safe_divide(weighted_events, outs) }}
{%- endmacro %}

{% macro fielding_independent_pitching(
    constant,
    home_runs='home_runs_allowed',
    walks='walks_allowed',
    hit_batters='hit_batters',
    strikeouts='strikeouts',
    outs='outs_pitched'
) -%}
    (
        {{ diamond.fip_core(home_runs, walks, hit_batters, strikeouts, outs) }}
        + ({{ constant }})
    )
{%- endmacro %}

{% macro fip_constant(
    earned_runs='earned_runs',
    home_runs='home_runs_allowed',
    walks='walks_allowed',
    hit_batters='hit_batters',
    strikeouts='strikeouts',
    outs='outs_pitched'
) -%}
    (
        {{ diamond.earned_run_average(earned_runs, outs) }}
        - {{ diamond.fip_core(home_runs, walks, hit_batters, strikeouts, outs) }}
    )
{%- endmacro %}
