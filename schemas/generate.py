"""Generate the pydantic models in `schemas/models/` from the JSON Schemas beside them.

The JSON Schemas are the contract; the models are derived, never edited by hand.
`python -m contracts.generate` rewrites them; the contract test regenerates into a
temporary directory and fails when the committed models differ.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SCHEMAS_DIR = Path(__file__).parent
MODELS_DIR = SCHEMAS_DIR / "models"
SCHEMA_NAME = re.compile(r"^(?P<name>[A-Za-z]+)\.v(?P<version>\d+)\.json$")


def schema_files() -> list[Path]:
    return sorted(p for p in SCHEMAS_DIR.rglob("*.v*.json") if SCHEMA_NAME.match(p.name))


def module_name(schema: Path) -> str:
    match = SCHEMA_NAME.match(schema.name)
    assert match, schema
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", match["name"]).lower()
    return f"{snake}_v{match['version']}"


def class_name(schema: Path) -> str:
    match = SCHEMA_NAME.match(schema.name)
    assert match, schema
    return match["name"][0].upper() + match["name"][1:]


def render(schema: Path) -> str:
    from datamodel_code_generator import DataModelType, InputFileType, PythonVersion, generate

    code = generate(
        schema.read_text(),
        input_file_type=InputFileType.JsonSchema,
        input_filename=schema.relative_to(SCHEMAS_DIR).as_posix(),
        output_model_type=DataModelType.PydanticV2BaseModel,
        class_name=class_name(schema),
        use_annotated=True,
        field_constraints=True,
        use_standard_collections=True,
        use_union_operator=True,
        target_python_version=PythonVersion.PY_311,
        disable_timestamp=True,
        use_schema_description=True,
        use_double_quotes=True,
        formatters=[],
    )
    assert isinstance(code, str)
    return code


def write_models(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for schema in schema_files():
        path = target / f"{module_name(schema)}.py"
        path.write_text(render(schema))
        written.append(path)
    (target / "__init__.py").write_text('"""Generated from the JSON Schemas in schemas/."""\n')
    return written


if __name__ == "__main__":
    for path in write_models(MODELS_DIR):
        print(path.relative_to(SCHEMAS_DIR.parent), file=sys.stderr)
