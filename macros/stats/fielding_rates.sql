{#
    Fielding rates. Fielding percentage is the share of chances handled
    without an error, (PO + A) / (PO + A + E); range factor counts plays
    made (PO + A) per nine defensive innings, from outs played (27 outs are
    nine innings), or per game for seasons whose outs played were not
    recorded (most seasons from 1912 to the mid-1950s). Null when the
    denominator is zero or missing.
#}
{% macro fielding_percentage(
    putouts='putouts',
    assists='assists',
    errors='errors'
) -%}
    {{ diamond.safe_divide(
        '(' ~ putouts ~ ') + (' ~ assists ~ ')',
        '(' ~ putouts ~ ') + (' ~ assists ~ ') + (' ~ errors ~ ')'
    ) }}
{%- endmacro %}

{% macro range_factor_per_nine(
    putouts='putouts',
    assists='assists',
    outs_played='outs_played'
) -%}
    {{ diamond.safe_divide(
        '27 * ((' ~ putouts ~ ') + (' ~ assists ~ '))', outs_played
    ) }}
{%- endmacro %}

{% macro range_factor_per_game(
    putouts='putouts',
    assists='assists',
    games='games'
) -%}
    {{ diamond.safe_divide(
        '(' ~ putouts ~ ') + (' ~ assists ~ ')', games
    ) }}
{%- endmacro %}
