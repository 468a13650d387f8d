{#
    Fails for every row where the SQL expression is false, for rules that
    span columns (hits never exceed at bats, wins plus losses fit in games).
    An optional where clause narrows the rows checked.
#}
{% test expression_is_true(model, expression, where_clause=none) %}

select *
from {{ model }}
where not ({{ expression }})
{%- if where_clause %}
    and ({{ where_clause }})
{%- endif %}

{% endtest %}
