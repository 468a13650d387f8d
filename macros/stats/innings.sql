{#
    Innings pitched (or played in the field) from outs recorded. The release
    stores outs so that a third of an inning stays exact; this turns them
    into innings as a double (200 outs -> 66.67 innings), which is what the
    per-nine-innings rates divide by. Presentation layers that want the
    traditional "66.2" notation format it themselves.
#}
{% macro innings_from_outs(outs='outs_pitched') -%}
    {{ diamond.safe_divide(outs, 3) }}
{%- endmacro %}
