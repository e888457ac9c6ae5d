"""Docs kept complete by tests: README's commands, the coverage table, and a test for
every operation listed as implemented."""

from __future__ import annotations

import re
from pathlib import Path

from botocore import xform_name

from mamori.cli import coverage_rows, coverage_table
from mamori.services.base import discover, snake_case

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _shell_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_readme_starts_with_the_two_commands():
    blocks = _shell_blocks(README)
    assert blocks[0].strip() == "python3 -m pip install -e . && mamori serve"
    assert blocks[1].strip().startswith("python3 -m pip install -e '.[test]' && python3 -m pytest")


def test_ci_runs_the_readme_test_command():
    install, test = _shell_blocks(README)[1].strip().split(" && ")
    ci = (ROOT / ".ci" / "run").read_text()
    assert test in ci
    assert "pip install" in ci and ".[test]" in ci


def test_readme_coverage_table_is_current():
    between = README.split("<!-- coverage:start -->")[1].split("<!-- coverage:end -->")[0]
    assert between.strip() == coverage_table().strip(), "run: python -m mamori coverage, and paste it into README.md"


def test_every_implemented_operation_has_a_test():
    test_text = "\n".join(p.read_text() for p in (ROOT / "tests").rglob("test_*.py"))
    missing = []
    for name, cls in discover().items():
        provider = cls.__new__(cls)
        for op in provider.implemented_operations():
            # boto3's method name (botocore.xform_name: GetOTelEnrichment ->
            # get_otel_enrichment) or the provider's own snake_case.
            names = {snake_case(op), xform_name(op)}
            if not any(re.search(rf"\.{name}\(", test_text) for name in names):
                missing.append(f"{name}:{op}")
    assert not missing, f"operations implemented without a test calling them: {missing}"


def test_coverage_rows_count_model_operations():
    rows = {name: (done, total) for name, done, total in coverage_rows()}
    assert rows["sts"][1] == 11
    assert all(0 < done <= total for done, total in rows.values())
