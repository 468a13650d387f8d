{#
    Groups the release's birth countries into the regions the fairness
    audit compares. Countries are spelled as the release spells them
    (USA, D.R., P.R., CAN, V.I.). Puerto Rico and the Virgin Islands count
    with the Caribbean, where their players are usually counted in
    baseball's own demographic reports. An unknown country gets its own
    group rather than a guess.
#}
{% macro birth_region(country) -%}
    case
        when {{ country }} is null then 'unknown'
        when {{ country }} = 'USA' then 'United States'
        when {{ country }} = 'CAN' then 'Canada'
        when {{ country }} in (
            'D.R.', 'Venezuela', 'P.R.', 'Cuba', 'Mexico', 'Panama',
            'Colombia', 'Curacao', 'Nicaragua', 'V.I.', 'Bahamas', 'Aruba',
            'Brazil', 'Jamaica', 'Honduras', 'Peru', 'Belize'
        ) then 'Latin America and Caribbean'
        when {{ country }} in (
            'Japan', 'South Korea', 'Taiwan', 'China', 'Hong Kong',
            'Philippines', 'Indonesia', 'Singapore', 'Viet Nam',
            'Saudi Arabia', 'Afghanistan'
        ) then 'Asia'
        when {{ country }} in ('Australia', 'Guam', 'American Samoa')
            then 'Oceania'
        when {{ country }} in (
            'United Kingdom', 'Ireland', 'Germany', 'Netherlands', 'Russia',
            'Italy', 'France', 'Czech Republic', 'Poland', 'Spain', 'Sweden',
            'Austria', 'Norway', 'Latvia', 'Portugal', 'Slovakia', 'Finland',
            'Denmark', 'Switzerland', 'Greece', 'Belgium', 'Lithuania'
        ) then 'Europe'
        else 'other'
    end
{%- endmacro %}

{#
    Age band of a player in the season being projected, for the fairness
    audit: young players still improving, the peak years, and the decline.
#}
{% macro age_band(age) -%}
    case
        when {{ age }} is null then 'unknown'
        when {{ age }} < 26 then 'under 26'
        when {{ age }} < 30 then '26-29'
        when {{ age }} < 34 then '30-33'
        else '34 and over'
    end
{%- endmacro %}
