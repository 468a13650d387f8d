{#
    The single-column key of a team-season, "<season>-<team_id>" (for
    example 2016-CHN). Lahman team ids are reused across seasons, so the
    team id alone identifies nothing; a one-column key lets the marts that
    point at a team-season be checked with dbt's relationships test and
    joined without repeating two conditions.
#}
{% macro team_season_id(season, team_id) -%}
    cast({{ season }} as varchar) || '-' || {{ team_id }}
{%- endmacro %}
