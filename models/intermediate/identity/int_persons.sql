-- Every stitched person once, with its customer (smallest user id; null for anonymous-only
-- persons): the population every person-level mart starts from. One row per person_id.
with

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

final as (
    select
        person_id,
        min(customer_id) as customer_id
    from resolved
    group by person_id
)

select * from final
