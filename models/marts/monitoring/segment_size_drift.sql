-- Drift of segment sizes: for every day of segment_kpis_daily, segment family and segment, the
-- segment's share of all persons against the same segment's shares over the previous
-- var('monitoring_size_baseline_builds') builds (the current one excluded from its own
-- baseline), as a z-score. The z-score divides by the baseline's standard deviation, floored at
-- the share's sampling error (sqrt(p (1 - p) / persons), at the baseline's mean share p): the
-- shares of consecutive builds hold mostly the same persons, so their spread can be far below
-- the noise of a population of that size, and a move within that noise is no drift. The
-- segments a model assigns (cluster: segment_model_runs; churn_risk_tier: the churn model of
-- supervised_model_runs) are judged only against builds scored by the same fit (model_fit_date,
-- the as_of of the fit in force): a refit redefines them. A segment is judged only with at least
-- var('monitoring_size_min_builds') earlier builds (of its fit) (is_judged; drift_level null
-- before); drift_level is 'none' below var('monitoring_size_z_moderate'),
-- 'moderate' below var('monitoring_size_z_major'), else 'major'. Suppressed segments (under
-- segment_k_anonymity members) have no share and are not judged. Recomputed from the kept KPI
-- history on every build.
with

kpis as (
    select * from {{ ref('segment_kpis_daily') }}
),

-- the fits of the models that assign segments, per family they assign
fits as (
    select distinct
        'cluster' as segment_family,
        cast(as_of_date as date) as fit_date
    from {{ ref('segment_model_runs') }}
    union all
    select distinct
        'churn_risk_tier' as segment_family,
        cast(as_of_date as date) as fit_date
    from {{ ref('supervised_model_runs') }}
    where model_name = 'churn'
),

-- the fit in force on each build's day: the latest fit up to that day
fits_in_force as (
    select
        kpi_days.kpi_date,
        fits.segment_family,
        max(fits.fit_date) as model_fit_date
    from (select distinct kpi_date from kpis) as kpi_days
    inner join fits
        on kpi_days.kpi_date >= fits.fit_date
    group by 1, 2
),

population as (
    select
        kpi_date,
        member_count as person_count
    from kpis
    where segment_family = 'all'
),

shares as (
    select
        kpis.kpi_date,
        kpis.segment_family,
        kpis.segment_name,
        kpis.member_count,
        population.person_count,
        fits_in_force.model_fit_date,
        1.0 * kpis.member_count / nullif(population.person_count, 0) as member_share
    from kpis
    inner join population
        on kpis.kpi_date = population.kpi_date
    left join fits_in_force
        on
            kpis.kpi_date = fits_in_force.kpi_date
            and kpis.segment_family = fits_in_force.segment_family
    where kpis.segment_family != 'all' and kpis.member_count is not null
),

baselines as (
    select
        *,
        count(member_share) over (
            partition by segment_family, segment_name, model_fit_date
            order by kpi_date
            rows between {{ var('monitoring_size_baseline_builds') }} preceding and 1 preceding
        ) as baseline_builds,
        avg(member_share) over (
            partition by segment_family, segment_name, model_fit_date
            order by kpi_date
            rows between {{ var('monitoring_size_baseline_builds') }} preceding and 1 preceding
        ) as baseline_mean_share,
        stddev_samp(member_share) over (
            partition by segment_family, segment_name, model_fit_date
            order by kpi_date
            rows between {{ var('monitoring_size_baseline_builds') }} preceding and 1 preceding
        ) as baseline_sd_share
    from shares
),

floored as (
    select
        *,
        greatest(
            coalesce(baseline_sd_share, 0),
            sqrt(baseline_mean_share * (1 - baseline_mean_share) / nullif(person_count, 0))
        ) as noise_sd_share
    from baselines
),

scored as (
    select
        *,
        baseline_builds >= {{ var('monitoring_size_min_builds') }}
        and noise_sd_share > 0 as is_judged
    from floored
),

final as (
    select
        kpi_date,
        segment_family,
        segment_name,
        member_count,
        is_judged,
        round(member_share, 6) as member_share,
        coalesce(baseline_builds, 0) as baseline_builds,
        round(baseline_mean_share, 6) as baseline_mean_share,
        round(baseline_sd_share, 6) as baseline_sd_share,
        round(noise_sd_share, 6) as noise_sd_share,
        model_fit_date,
        case
            when is_judged
                then round((member_share - baseline_mean_share) / noise_sd_share, 4)
        end as z_score,
        case
            when not is_judged then null
            when
                abs(member_share - baseline_mean_share) / noise_sd_share
                >= {{ var('monitoring_size_z_major') }}
                then 'major'
            when
                abs(member_share - baseline_mean_share) / noise_sd_share
                >= {{ var('monitoring_size_z_moderate') }}
                then 'moderate'
            else 'none'
        end as drift_level
    from scored
)

select * from final
