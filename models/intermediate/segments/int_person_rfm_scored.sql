-- RFM and buy-till-you-die summary per person: customer_rfm's definitions over all the completed
-- orders of all the person's customer ids (int_person_orders), so the CRM records of one
-- human count once, with their value and recency combined. Quintiles are taken over persons.
-- One row per person with at least one completed order up to as_of.
with

orders as (
    select * from {{ ref('int_person_orders') }}
    where status = 'completed'
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

segment_map as (
    select * from {{ ref('rfm_segment_map') }}
),

{{ rfm_scored('person_id') }}
