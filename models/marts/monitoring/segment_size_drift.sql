-- Drift of segment sizes: for every day of segment_kpis_daily, segment family and segment, the
-- segment's share of all persons against the same segment's shares over the previous
-- var('monitoring_size_baseline_builds') builds (the current one excluded from its own
-- baseline), as a z-score. A segment is judged only with at least
-- var('monitoring_size_min_builds') earlier builds (is_judged; drift_level null before) and a
-- baseline that moved at all; drift_level is 'none' below var('monitoring_size_z_moderate'),
-- 'moderate' below var('monitoring_size_z_major'), else 'major'. Suppressed segments (under
-- segment_k_anonymity members) have no share and are not judged. Recomputed from the kept KPI
-- history on every build.
with

kpis as (
    select * from {{ ref('segment_kpis_daily') }}
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
        1.0 * kpis.member_count / nullif(population.person_count, 0) as member_share
    from kpis
    inner join population
        on kpis.kpi_date = population.kpi_date
    where kpis.segment_family != 'all' and kpis.member_count is not null
),

baselines as (
    select
        *,
        count(member_share) over (
            partition by segment_family, segment_name
            order by kpi_date
            rows between {{ var('monitoring_size_baseline_builds') }} preceding and 1 preceding
        ) as baseline_builds,
        avg(member_share) over (
            partition by segment_family, segment_name
            order by kpi_date
            rows between {{ var('monitoring_size_baseline_builds') }} preceding and 1 preceding
        ) as baseline_mean_share,
        stddev_samp(member_share) over (
            partition by segment_family, segment_name
            order by kpi_date
            rows between {{ var('monitoring_size_baseline_builds') }} preceding and 1 preceding
        ) as baseline_sd_share
    from shares
),

scored as (
    select
        *,
        baseline_builds >= {{ var('monitoring_size_min_builds') }}
        and baseline_sd_share > 0 as is_judged
    from baselines
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
        case
            when is_judged
                then round((member_share - baseline_mean_share) / baseline_sd_share, 4)
        end as z_score,
        case
            when not is_judged then null
            when
                abs(member_share - baseline_mean_share) / baseline_sd_share
                >= {{ var('monitoring_size_z_major') }}
                then 'major'
            when
                abs(member_share - baseline_mean_share) / baseline_sd_share
                >= {{ var('monitoring_size_z_moderate') }}
                then 'moderate'
            else 'none'
        end as drift_level
    from scored
)

select * from final
