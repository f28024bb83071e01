"""Python helpers for the audience-segmentation dbt project (demo-data generator, CLI)."""
