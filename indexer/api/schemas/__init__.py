"""Pydantic models at the API boundary: one module per entity family (Public/Create...)."""
