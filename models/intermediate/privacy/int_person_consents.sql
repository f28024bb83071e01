-- The consent in force for every person and purpose (data contract, "Consent"): the single
-- place every later model asks. A decision recorded on any of the person's ids (a user id or a
-- device) covers the whole person the identity graph resolves it to. Per person and purpose,
-- the latest decision up to the end of as_of is in force (is_granted), a refusal winning a tie;
-- with none, the default of the person's region (consent_default: var('consent_region_defaults'),
-- opt-in regions refused until granted), the region being the latest one recorded on the
-- person's consents, else the region of the person's CRM country (var('consent_country_regions')).
-- is_granted_latest is the latest decision of all, also after the end of as_of: the real-time
-- path and every feed activation tools read follow it, so a revocation takes effect at the next
-- fast-path run.
-- Persons are those of the identity graph, plus the consent subjects it has not met yet (e.g. a
-- device first seen after the daily build) under the person id a lone id gets in the real-time
-- window, once as a user id and once as a device (is_in_identity_graph false).
-- One row per person_id and purpose.
{{ config(tags=['realtime']) }}

with

consents as (
    select * from {{ ref('stg_privacy__consents') }}
),

resolved as (
    select * from {{ ref('int_identity_resolved') }}
),

persons as (
    select * from {{ ref('int_persons') }}
),

person_customers as (
    select * from {{ ref('int_person_customers') }}
),

customers as (
    select * from {{ ref('int_customers_permitted') }}
),

observation_window as (
    select * from {{ ref('stg_observation_window') }}
),

-- the three purposes of the data contract
purposes as (
    select 'analytics' as purpose
    union all
    select 'personalization' as purpose
    union all
    select 'marketing' as purpose
),

-- consents of subjects without a deletion request, on linkable ids
valid_consents as (
    select *
    from consents
    where
        not coalesce({{ is_deleted_subject('consents.subject_id') }}, false)
        and lower(subject_id) not in (
            {{ sql_string_list(var('identity_id_blocklist')) }}
        )
),

graph_subjects as (
    select distinct
        valid_consents.subject_id,
        resolved.person_id
    from valid_consents
    inner join resolved
        on valid_consents.subject_id = resolved.id_value
),

unmet_subjects as (
    select distinct valid_consents.subject_id
    from valid_consents
    left join resolved
        on valid_consents.subject_id = resolved.id_value
    where resolved.id_value is null
),

subject_persons as (
    select
        subject_id,
        person_id,
        true as is_in_identity_graph
    from graph_subjects
    union all
    select
        subject_id,
        {{ dbt.hash(identity_node_label('user_id', 'subject_id')) }} as person_id,
        false as is_in_identity_graph
    from unmet_subjects
    union all
    select
        subject_id,
        {{ dbt.hash(identity_node_label('anonymous_id', 'subject_id')) }} as person_id,
        false as is_in_identity_graph
    from unmet_subjects
),

population as (
    select
        person_id,
        true as is_in_identity_graph
    from persons
    union all
    select distinct
        person_id,
        false as is_in_identity_graph
    from subject_persons
    where not is_in_identity_graph
),

decisions as (
    select
        subject_persons.person_id,
        valid_consents.subject_id,
        valid_consents.purpose,
        valid_consents.is_granted,
        valid_consents.recorded_at,
        valid_consents.region,
        valid_consents._source_file,
        valid_consents._source_row,
        valid_consents.recorded_at < observation_window.observation_end_at as is_within_as_of
    from valid_consents
    inner join subject_persons
        on valid_consents.subject_id = subject_persons.subject_id
    cross join observation_window
),

-- Every decision ranked within the person and purpose, latest first and a refusal first on a
-- tie, once among all decisions and once among those up to the end of as_of.
ranked as (
    select
        *,
        row_number() over (
            partition by person_id, purpose
            order by {{ consent_decision_order() }}
        ) as latest_rank,
        row_number() over (
            partition by person_id, purpose, is_within_as_of
            order by {{ consent_decision_order() }}
        ) as period_rank,
        count(*) over (partition by person_id, purpose, is_within_as_of) as period_count
    from decisions
),

-- the decision in force at the end of as_of
in_force as (
    select
        person_id,
        purpose,
        is_granted,
        recorded_at as decided_at,
        subject_id as source_subject_id,
        period_count as decision_count
    from ranked
    where is_within_as_of and period_rank = 1
),

latest as (
    select
        person_id,
        purpose,
        is_granted as is_granted_latest,
        recorded_at as latest_decided_at,
        subject_id as latest_subject_id
    from ranked
    where latest_rank = 1
),

-- the person's region: the latest one recorded on its consents up to the end of as_of, else
-- the region of its customer's country
recorded_regions as (
    select
        person_id,
        region
    from (
        select
            person_id,
            region,
            row_number() over (
                partition by person_id
                order by {{ consent_decision_order() }}, region
            ) as region_rank
        from decisions
        where region is not null and is_within_as_of
    ) as ranked_regions
    where region_rank = 1
),

-- The region of the person's CRM records: with several records in different regions, a region
-- with its own defaults (consent_region_defaults: the opt-in ones) wins, then the primary
-- record's, then the smallest customer id's, so a person is never less protected for having
-- a second record.
crm_record_regions as (
    select
        person_customers.person_id,
        person_customers.customer_id,
        person_customers.is_primary_customer,
        case
            {%- for country, region in var('consent_country_regions').items() %}
            when upper(customers.country) = '{{ country }}' then '{{ region }}'
            {%- endfor %}
            else upper(customers.country)
        end as region
    from person_customers
    inner join customers
        on person_customers.customer_id = customers.customer_id
),

crm_regions as (
    select
        person_id,
        region
    from (
        select
            person_id,
            region,
            row_number() over (
                partition by person_id
                order by
                    case
                        when region
                            in ({{ sql_string_list(var('consent_region_defaults').keys() | list) }})
                            then 0
                        else 1
                    end,
                    case when is_primary_customer then 0 else 1 end,
                    customer_id
            ) as region_rank
        from crm_record_regions
        where region is not null
    ) as ranked_crm_regions
    where region_rank = 1
),

person_regions as (
    select
        population.person_id,
        population.is_in_identity_graph,
        coalesce(recorded_regions.region, crm_regions.region) as region
    from population
    left join recorded_regions
        on population.person_id = recorded_regions.person_id
    left join crm_regions
        on population.person_id = crm_regions.person_id
),

final as (
    select
        person_regions.person_id,
        purposes.purpose,
        coalesce(
            in_force.is_granted,
            {{ consent_default('purposes.purpose', 'person_regions.region') }}
        ) as is_granted,
        in_force.decided_at,
        in_force.source_subject_id,
        in_force.person_id is null as is_default,
        case
            when in_force.person_id is not null then 'decision'
            else {{ consent_default_basis('purposes.purpose', 'person_regions.region') }}
        end as decision_basis,
        person_regions.region,
        coalesce(in_force.decision_count, 0) as decision_count,
        coalesce(
            latest.is_granted_latest,
            in_force.is_granted,
            {{ consent_default('purposes.purpose', 'person_regions.region') }}
        ) as is_granted_latest,
        latest.latest_decided_at,
        latest.latest_subject_id,
        person_regions.is_in_identity_graph
    from person_regions
    cross join purposes
    left join in_force
        on
            person_regions.person_id = in_force.person_id
            and purposes.purpose = in_force.purpose
    left join latest
        on
            person_regions.person_id = latest.person_id
            and purposes.purpose = latest.purpose
)

select * from final
