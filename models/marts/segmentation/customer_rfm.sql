-- RFM and buy-till-you-die summary per customer (data contract section 4): one row per customer
-- with at least one completed order up to as_of. Only completed orders with a customer count; a
-- purchase day is a UTC calendar day with at least one such order, its revenue the day's total.
-- Quintile scores use ntile(5) with deterministic tie-breaks (the next metric, then the id).
with

orders as (
    select * from {{ ref('int_orders_permitted') }}
    where status = 'completed' and customer_id is not null
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

segment_map as (
    select * from {{ ref('rfm_segment_map') }}
),

{{ rfm_scored('customer_id') }}
