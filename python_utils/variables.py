"""`python -m python_utils variables`: docs/variables.md, the reference of the project's dbt
variables, generated from dbt_project.yml so it cannot go stale: each `# --- section ---`
header starts a table, and a variable's description is the comment block above it plus its
trailing comment. `--check` fails when docs/variables.md differs from what dbt_project.yml gives
(the conventions test runs it)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
OUTPUT = PROJECT_DIR / "docs" / "variables.md"
SECTION = re.compile(r"^  # --- (.+?) ---\s*$")
COMMENT = re.compile(r"^  # ?(.*)$")
VARIABLE = re.compile(r"^  ([a-z][a-z0-9_]*):(.*)$")
MAX_DEFAULT = 70


def _inline_comment(rest: str) -> str:
    """The trailing `# comment` of a `name: value` line (a # inside quotes is not one)."""
    quote = None
    for i, char in enumerate(rest):
        if char in "'\"":
            quote = None if quote == char else (quote or char)
        elif char == "#" and quote is None and (i == 0 or rest[i - 1] in " \t"):
            return rest[i + 1 :].strip()
    return ""


def parse(project_file: Path = PROJECT_DIR / "dbt_project.yml") -> list[dict]:
    """The variables in file order: name, section, default, description."""
    text = project_file.read_text()
    defaults = yaml.safe_load(text)["vars"]
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("vars:")) + 1
    section, comments, found = "general", [], []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break  # the next top-level key
        if match := SECTION.match(line):
            section, comments = match.group(1), []
        elif match := COMMENT.match(line):
            comments.append(match.group(1).strip())
        elif match := VARIABLE.match(line):
            name = match.group(1)
            parts = [*comments, _inline_comment(match.group(2))]
            found.append(
                {
                    "name": name,
                    "section": section,
                    "default": defaults[name],
                    "description": " ".join(p for p in parts if p),
                }
            )
            comments = []
        elif not line.strip():
            comments = []
    missing = set(defaults) - {v["name"] for v in found}
    if missing:
        raise ValueError(f"dbt_project.yml: variables not at two-space indent: {sorted(missing)}")
    return found


def _default(value) -> str:
    text = "null" if value is None else (value if isinstance(value, str) else json.dumps(value))
    text = str(text).replace("|", "\\|")
    return text if len(text) <= MAX_DEFAULT else text[: MAX_DEFAULT - 1] + "…"


def render(variables: list[dict]) -> str:
    import textwrap

    intro = (
        "Generated from `dbt_project.yml` by `python -m python_utils variables`; edit the "
        "comments there, not this file (the conventions test fails when it is stale). Set "
        "a variable with `--vars` (e.g. `make build DBT_ARGS='--vars \"{as_of: "
        "2026-06-30}\"'`) or, in a project that installs this one as a package, under "
        "`vars: segments:` in its `dbt_project.yml`. A default cut with … is in full in "
        "`dbt_project.yml`."
    )
    out = [
        "# Variables",
        "",
        *textwrap.wrap(intro, 96, break_on_hyphens=False, break_long_words=False),
        "",
    ]
    section = None
    for variable in variables:
        if variable["section"] != section:
            section = variable["section"]
            out += [
                "",
                f"## {section[0].upper()}{section[1:]}",
                "",
                "| variable | default | what it does |",
                "|---|---|---|",
            ]
        description = variable["description"].replace("|", "\\|")
        out.append(f"| `{variable['name']}` | `{_default(variable['default'])}` | {description} |")
    return "\n".join(out).replace("\n\n\n", "\n\n") + "\n"


def run(check: bool = False) -> int:
    variables = parse()
    undocumented = [v["name"] for v in variables if not v["description"]]
    if undocumented:
        print(
            f"dbt_project.yml: variables without a comment: {', '.join(undocumented)}",
            file=sys.stderr,
        )
        return 1
    text = render(variables)
    if check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(
                f"{OUTPUT.relative_to(PROJECT_DIR)} is stale: run python -m python_utils variables",
                file=sys.stderr,
            )
            return 1
        print(f"{OUTPUT.relative_to(PROJECT_DIR)} is current ({len(variables)} variables)")
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(PROJECT_DIR)} ({len(variables)} variables)")
    return 0
