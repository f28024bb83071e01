-- Every user id (customer id) of every person, the bridge person-level models join through to
-- combine all of a person's CRM records, orders and surveys. One row per customer_id.
with

resolved as (
    select * from {{ ref('int_identity_resolved') }}
    where id_type = 'user_id'
),

customers as (
    select * from {{ ref('int_customers_permitted') }}
),

final as (
    select
        resolved.person_id,
        resolved.id_value as customer_id,
        resolved.id_value = resolved.customer_id as is_primary_customer,
        customers.customer_id is not null as has_customer_record
    from resolved
    left join customers
        on resolved.id_value = customers.customer_id
)

select * from final
