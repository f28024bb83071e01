-- Every person has exactly one content decision per slot: the rows of content_decisions equal
-- the persons times the slots of seeds/content_rules.csv (unique_combination guards against two).
with

decisions as (
    select count(*) as decision_count from {{ ref('content_decisions') }}
),

expected as (
    select
        (select count(*) from {{ ref('int_persons') }})
        * (select count(distinct slot) from {{ ref('content_rules') }}) as decision_count
)

select
    decisions.decision_count,
    expected.decision_count as expected_count
from decisions
cross join expected
where decisions.decision_count <> expected.decision_count
