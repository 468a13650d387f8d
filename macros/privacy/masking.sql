{#
    Masking driven by column meta. A model writes

        {{ mask('email') }} as email

    and the policy comes from the `masking_policy` key of that column's
    meta in the model's YAML, so the YAML stays the single place where a
    column's treatment is decided; changing a policy is a YAML change.
    A column without a policy is a compile error rather than a silent
    pass-through. During parsing the meta is not attached yet, so the
    expression is returned as it is there; nothing runs at that stage.
#}
{% macro mask(column, expression=none) -%}
    {%- set expr = expression if expression is not none else column -%}
    {%- if not execute -%}
        {{ return(expr) }}
    {%- endif -%}
    {%- if model.resource_type == 'unit_test' -%}
        {{ return(unit_test_mask(column, expr)) }}
    {%- endif -%}
    {%- set spec = model.columns.get(column) -%}
    {%- if spec is none -%}
        {{ exceptions.raise_compiler_error(
            "mask('" ~ column ~ "') in " ~ model.name ~ ": the column is "
            ~ "not documented in the model's YAML, so it has no "
            ~ "masking_policy. Add it with meta.masking_policy.") }}
    {%- endif -%}
    {%- set meta = {} -%}
    {%- do meta.update((spec.get('config') or {}).get('meta') or {}) -%}
    {%- do meta.update(spec.get('meta') or {}) -%}
    {%- set policy = meta.get('masking_policy') -%}
    {%- if policy is none -%}
        {{ exceptions.raise_compiler_error(
            "mask('" ~ column ~ "') in " ~ model.name ~ ": meta has no "
            ~ "masking_policy. Choose one of: "
            ~ masking_policies() | join(', ')) }}
    {%- endif -%}
    {{ return(apply_masking_policy(
        policy, expr, spec.get('data_type') or 'varchar', model.name,
        column)) }}
{%- endmacro %}


{#
    dbt compiles a unit test without the project graph, so the YAML meta
    of the model under test cannot be read. The unit test names the
    policies it exercises instead, under `overrides: vars:
    unit_test_masking_policies: {column: policy}`; a masked column it
    leaves out is a compile error, never an unmasked pass-through.
#}
{% macro unit_test_mask(column, expr) -%}
    {%- set policies = var('unit_test_masking_policies', {}) -%}
    {%- if column not in policies -%}
        {{ exceptions.raise_compiler_error(
            "mask('" ~ column ~ "') in unit test " ~ model.name ~ ": unit "
            ~ "tests cannot read column meta. Add the column's policy "
            ~ "under overrides: vars: unit_test_masking_policies.") }}
    {%- endif -%}
    {{ return(apply_masking_policy(
        policies[column], expr, 'varchar', model.name, column)) }}
{%- endmacro %}


{% macro masking_policies() -%}
    {{ return([
        'keyed_hash', 'email_domain', 'last_four', 'year_only',
        'month_only', 'age_cap_90', 'zip3', 'nullify', 'none']) }}
{%- endmacro %}


{% macro apply_masking_policy(policy, expr, data_type, where, column) -%}
    {%- if policy == 'keyed_hash' -%}
        {{ return(keyed_hash(expr)) }}
    {%- elif policy == 'email_domain' -%}
        {{ return(email_domain(expr)) }}
    {%- elif policy == 'last_four' -%}
        {{ return(last_four(expr)) }}
    {%- elif policy == 'year_only' -%}
        {{ return('cast(extract(year from ' ~ expr ~ ') as integer)') }}
    {%- elif policy == 'month_only' -%}
        {{ return(truncate_date(expr, 'month')) }}
    {%- elif policy == 'age_cap_90' -%}
        {{ return(age_cap_90(expr)) }}
    {%- elif policy == 'zip3' -%}
        {{ return(zip3(expr)) }}
    {%- elif policy == 'nullify' -%}
        {{ return('cast(null as ' ~ data_type ~ ')') }}
    {%- elif policy == 'none' -%}
        {{ return(expr) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            where ~ "." ~ column ~ ": unknown masking_policy '" ~ policy
            ~ "'. Choose one of: " ~ masking_policies() | join(', ')) }}
    {%- endif -%}
{%- endmacro %}


{#
    Deterministic pseudonym: SHA-256 of a secret key and the value, as
    lowercase hex, identical on every engine so joins work across them.
    The key is read at query time from the restricted raw schema instead
    of being written into the SQL: compiled SQL, logs and lineage facets
    are widely readable, and a key found there would let anyone rebuild
    the pseudonyms from guessed values.
#}
{% macro keyed_hash(expr) -%}
    case
        when {{ expr }} is not null
            then {{ adapter.dispatch('sha256_hex', 'diamond')(
                masking_key() ~ " || '|' || cast(" ~ expr ~ " as varchar)") }}
    end
{%- endmacro %}

{% macro masking_key() -%}
    (select k.masking_key from {{ var('raw_schema', 'raw') }}.masking_key as k)
{%- endmacro %}

{% macro default__sha256_hex(text) -%}
    sha256({{ text }})
{%- endmacro %}

{% macro postgres__sha256_hex(text) -%}
    encode(sha256(convert_to({{ text }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro athena__sha256_hex(text) -%}
    lower(to_hex(sha256(to_utf8({{ text }}))))
{%- endmacro %}


{# The domain says which provider, never who. #}
{% macro email_domain(expr) -%}
    case
        when {{ expr }} like '%_@_%'
            then '***@' || lower(split_part({{ expr }}, '@', 2))
    end
{%- endmacro %}


{# Last four digits, the form receipts print; separators are dropped. #}
{% macro last_four(expr) -%}
    case
        when {{ expr }} is not null
            then '****' || {{ adapter.dispatch('last_four_digits', 'diamond')(
                expr) }}
    end
{%- endmacro %}

{% macro default__last_four_digits(expr) -%}
    right(regexp_replace({{ expr }}, '[^0-9]', '', 'g'), 4)
{%- endmacro %}

{% macro athena__last_four_digits(expr) -%}
    substr(regexp_replace({{ expr }}, '[^0-9]', ''), -4)
{%- endmacro %}


{#
    A date generalised to the first day of its month, keeping the column's
    type so contracts and joins on it still hold. (`year_only` returns the
    year as an integer instead: a 1 January date would look exact.)
#}
{% macro truncate_date(expr, part) -%}
    cast(date_trunc('{{ part }}', {{ expr }}) as date)
{%- endmacro %}


{# HIPAA Safe Harbor: ages over 89 are reported as one group, 90. #}
{% macro age_cap_90(expr) -%}
    case when {{ expr }} > 89 then 90 else {{ expr }} end
{%- endmacro %}


{#
    First three digits of a ZIP code; the prefixes whose area had 20,000
    people or fewer (the `sparse_zip3_prefixes` var) become 000, as HIPAA
    Safe Harbor requires.
#}
{% macro zip3(expr) -%}
    case
        when {{ expr }} is null then null
        when substr({{ expr }}, 1, 3) in (
            {%- for prefix in var('sparse_zip3_prefixes') -%}
                '{{ prefix }}'{{ ', ' if not loop.last }}
            {%- endfor -%}
        ) then '000'
        else substr({{ expr }}, 1, 3)
    end
{%- endmacro %}
