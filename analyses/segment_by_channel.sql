-- Primary rule segment by the channel persons arrive through (sessions in the engagement window):
-- where to reach each audience.
with

segments as (
    select * from {{ ref('customer_segments') }}
),

sessions as (
    select * from {{ ref('sessions') }}
)

select
    segments.primary_rule_segment,
    coalesce(sessions.channel, 'unknown') as channel,
    count(distinct segments.person_id) as persons,
    count(*) as sessions,
    round(avg(case when sessions.has_purchase then 1.0 else 0.0 end), 4) as conversion_rate
from segments
inner join sessions
    on segments.person_id = sessions.person_id
group by 1, 2
order by 1, 4 desc
