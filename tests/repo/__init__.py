"""Repository-wide checks: workflows, versions, brand images, documentation."""
