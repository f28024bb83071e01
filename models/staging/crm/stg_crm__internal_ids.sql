-- The ids of the shop's own staff and test accounts (stg_crm__customers.is_internal_account,
-- from the seed internal_account_patterns) and every device seen with one of them: the privacy
-- layer keeps their rows out of everything downstream (exclusion reason internal_account,
-- counted in raw_row_accounting), so they are in no segment, KPI or feed.
-- One row per subject_id and id_type ('user_id' or 'anonymous_id').
{{ config(materialized='table', tags=['realtime']) }}

with

customers as (
    select * from {{ ref('stg_crm__customers') }}
    where is_internal_account
),

events as (
    select * from {{ ref('stg_app__events') }}
),

final as (
    select
        customer_id as subject_id,
        'user_id' as id_type
    from customers
    union
    select
        events.anonymous_id as subject_id,
        'anonymous_id' as id_type
    from events
    inner join customers
        on events.user_id = customers.customer_id
    where events.anonymous_id is not null
)

select * from final
