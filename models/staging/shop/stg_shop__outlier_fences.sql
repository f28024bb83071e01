{{ config(materialized='table') }}

-- Outlier fences of the shop's numeric columns, one row per table, column and value group
-- (currency or 'all'), over every accepted row: Tukey fences on the log1p scale with
-- var('outlier_iqr_factor'), judged only for groups of at least var('outlier_min_group_values')
-- values (see outlier_fences). Flagged rows stay in staging: they may be real.
{{ outlier_fences(ref('stg_shop__outlier_measurements')) }}
