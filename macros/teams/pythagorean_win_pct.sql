{#
    Bill James's Pythagorean expectation: the share of games a team "should"
    win given the runs it scored and allowed,
    runs^k / (runs^k + runs_allowed^k). The exponent k comes from the
    pythagorean_exponent var (default 1.83, the value that fits modern
    seasons best; 2 is the original). Null when both run totals are zero.
#}
{% macro pythagorean_win_pct(runs, runs_allowed) -%}
    {%- set exponent = var('pythagorean_exponent', 1.83) -%}
    {%- if exponent is not number or exponent <= 0 -%}
        {{ exceptions.raise_compiler_error(
            "pythagorean_exponent must be a positive number, got "
            ~ exponent ~ "; set it in dbt_project.yml vars or with --vars"
        ) }}
    {%- endif -%}
    {{ diamond.safe_divide(
        "power(cast(" ~ runs ~ " as " ~ diamond.type_double() ~ "), "
            ~ exponent ~ ")",
        "power(cast(" ~ runs ~ " as " ~ diamond.type_double() ~ "), "
            ~ exponent ~ ") + power(cast(" ~ runs_allowed ~ " as "
            ~ diamond.type_double() ~ "), " ~ exponent ~ ")"
    ) }}
{%- endmacro %}
