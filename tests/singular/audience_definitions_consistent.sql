-- Every audience of seeds/audience_definitions.csv goes to one destination and has at least one
-- include clause (an audience without one would be empty whatever the data).
with

definitions as (
    select * from {{ ref('audience_definitions') }}
),

final as (
    select
        audience_id,
        count(distinct destination_id) as destination_count,
        sum(case when clause = 'include' then 1 else 0 end) as include_count
    from definitions
    group by audience_id
    having
        count(distinct destination_id) <> 1
        or sum(case when clause = 'include' then 1 else 0 end) = 0
)

select * from final
