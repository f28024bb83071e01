{% macro rank_recommendations(candidates, partition_columns=[]) %}
    {#-
        The ranked recommendation lists of a candidates relation or CTE (columns: the
        partition_columns, person_id, product_id, score, recommendation_source,
        source_priority): a product listed by several sources keeps its best (lowest
        source_priority, then highest score);
        the products are ranked by source_priority, score descending, then product_id, so equal
        input gives equal lists; ranks 1..var('recommendation_count') are kept. A select
        statement with the partition_columns, person_id, recommendation_rank, product_id, score
        and recommendation_source.
    -#}
    {%- set partition = (partition_columns + ['person_id']) | join(', ') %}
    select
        {{ partition }},
        recommendation_rank,
        product_id,
        score,
        recommendation_source
    from (
        select
            {{ partition }},
            product_id,
            score,
            recommendation_source,
            row_number() over (
                partition by {{ partition }}
                order by source_priority asc, score desc, product_id asc
            ) as recommendation_rank
        from (
            select
                {{ partition }},
                product_id,
                score,
                recommendation_source,
                source_priority,
                row_number() over (
                    partition by {{ partition }}, product_id
                    order by source_priority asc, score desc
                ) as product_choice
            from {{ candidates }}
        ) as deduplicated
        where product_choice = 1
    ) as ranked
    where recommendation_rank <= {{ var('recommendation_count') }}
{% endmacro %}
