{#
    Batting counts derived from the recorded ones. Hit by pitch, sacrifice
    hits and sacrifice flies were not kept in the earliest seasons; they
    count as zero here so that a plate-appearance total still exists, which
    matches how the published totals for those seasons are computed.
    Catcher's interference is not in the release, so plate appearances can
    run a few short of official figures in recent seasons.
#}
{% macro plate_appearances(
    at_bats='at_bats',
    walks='walks',
    hit_by_pitch='hit_by_pitch',
    sacrifice_hits='sacrifice_hits',
    sacrifice_flies='sacrifice_flies'
) -%}
    (
        ({{ at_bats }})
        + ({{ walks }})
        + coalesce({{ hit_by_pitch }}, 0)
        + coalesce({{ sacrifice_hits }}, 0)
        + coalesce({{ sacrifice_flies }}, 0)
    )
{%- endmacro %}

{% macro total_bases(
    hits='hits',
    doubles='doubles',
    triples='triples',
    home_runs='home_runs'
) -%}
    (
        ({{ hits }})
        + ({{ doubles }})
        + 2 * ({{ triples }})
        + 3 * ({{ home_runs }})
    )
{%- endmacro %}
