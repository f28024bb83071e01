-- The integration project's own model on top of the package's customer_segments: persons per
-- RFM segment and churn risk tier.
with

segments as (
    select * from {{ ref('segments', 'customer_segments') }}
),

final as (
    select
        rfm_segment,
        churn_risk_tier,
        count(*) as person_count
    from segments
    group by 1, 2
)

select * from final
