"""Generated from the JSON Schemas in schemas/."""
