-- Cohort retention: customers by the month of their first completed order, and the share still
-- ordering in each later month (month 0 = the first month).
with

orders as (
    select * from {{ ref('int_orders_permitted') }}
    where status = 'completed' and customer_id is not null
),

customer_months as (
    select distinct
        customer_id,
        {{ dbt.date_trunc('month', 'ordered_date') }} as order_month
    from orders
),

cohorts as (
    select
        customer_id,
        min(order_month) as cohort_month
    from customer_months
    group by 1
),

activity as (
    select
        cohorts.cohort_month,
        {{ dbt.datediff('cohorts.cohort_month', 'customer_months.order_month', 'month') }}
            as months_since_first_order,
        count(distinct customer_months.customer_id) as active_customers
    from customer_months
    inner join cohorts
        on customer_months.customer_id = cohorts.customer_id
    group by 1, 2
),

cohort_sizes as (
    select
        cohort_month,
        count(*) as cohort_customers
    from cohorts
    group by 1
)

select
    activity.cohort_month,
    cohort_sizes.cohort_customers,
    activity.months_since_first_order,
    activity.active_customers,
    round(1.0 * activity.active_customers / cohort_sizes.cohort_customers, 3) as retention_rate
from activity
inner join cohort_sizes
    on activity.cohort_month = cohort_sizes.cohort_month
order by 1, 3
