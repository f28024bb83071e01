-- Every stitched person once, with its primary customer (smallest user id; null for
-- anonymous-only persons) and all its user ids: the population every person-level mart starts
-- from. One row per person_id.
with

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

final as (
    select
        person_id,
        min(customer_id) as customer_id,
        count(case when id_type = 'user_id' then 1 end) as customer_count,
        {{ dbt.listagg(
            "case when id_type = 'user_id' then id_value end",
            "','",
            "order by case when id_type = 'user_id' then id_value end"
        ) }} as customer_ids
    from resolved
    group by person_id
)

select * from final
