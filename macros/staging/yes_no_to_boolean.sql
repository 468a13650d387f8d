{#
    The release's Y / N flags as booleans. Any other value, blank included,
    becomes `when_missing`: null by default ("not recorded"), or a literal
    such as false for flags where a blank means "no" (a tie in an award
    vote is marked Y and left blank otherwise).
#}
{% macro yes_no_to_boolean(column, when_missing=none) -%}
    case {{ diamond.clean_text(column) }}
        when 'Y' then true
        when 'N' then false
        {%- if when_missing is not none %}
        else {{ when_missing }}
        {%- endif %}
    end
{%- endmacro %}
