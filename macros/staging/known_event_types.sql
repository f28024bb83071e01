{% macro known_event_types() %}
    {#- The event types of the data contract; any other raw value is staged as 'other'. -#}
    {{ return([
        'page_view', 'product_view', 'add_to_cart', 'remove_from_cart', 'checkout_started',
        'purchase', 'search', 'email_open', 'email_click', 'video_play', 'form_submit',
        'add_to_wishlist',
    ]) }}
{% endmacro %}
