"""The JSON command line (``counter-app rules …``) end to end (in this process; one test runs the
real ``python -m counter_app`` process and checks it answers the same).

Exit codes: 0 a decided result (a refusal is decided too), 2 invalid input printed as
``{"errors": [{"field", "message"}]}``, 3 a broken policy pack. Nothing may print a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import counter_app
from counter_app.packs import policies_dir
from tests.support.cli import Ran, run_cli

FILING: dict[str, Any] = {
    "policy": "wuhu",
    "action": "new",
    "today": "2026-03-02",
    "person": {"name": "张三", "id_number": "11010519491231002X"},
    "insurance": "employee",
    "scope": "cross_province",
    "category": "other_temporary",
    "destination": "440300",
    "materials": ["id_card", "filing_form"],
}
CLAIM: dict[str, Any] = {
    "policy": "jiangsu",
    "today": "2026-03-02",
    "insurance": "employee",
    "scope": "cross_province",
    "filing": "long_term",
    "treatment": "inpatient",
    "hospital_level": 3,
    "admission_date": "2026-02-01",
    "discharge_date": "2026-02-10",
    "materials": ["id_card", "invoice", "inpatient_bill", "discharge_summary"],
    "amounts": {"total": "12000.00", "in_scope": "10000.00", "self_pay": "2000.00"},
}


#: The folder holding the ``counter_app`` under test (the subprocess must run that one).
SOURCE_ROOT = Path(counter_app.__file__).resolve().parents[1]


def run(*args: str, stdin: str | None = None) -> Ran:
    """``counter-app *args`` through the same Typer app, in this process."""
    result = run_cli(*args, input=stdin)
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    return result


def run_process(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(filter(None, [str(SOURCE_ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "PYTHONUTF8": "1", "PYTHONIOENCODING": "utf-8"}
    result = subprocess.run(
        [sys.executable, "-m", "counter_app", *args],
        cwd=SOURCE_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
    return result


def with_changes(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(base))
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    return data


def write(tmp_path: Path, data: Any, name: str = "request.json") -> str:
    path = tmp_path / name
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_decided_filing_from_a_file(tmp_path: Path) -> None:
    result = run("rules", "filing", write(tmp_path, FILING))
    assert result.returncode == 0, result.stdout
    answer = json.loads(result.stdout)
    assert answer["allowed"] is True and answer["complete"] is True
    # 芜规程 第十条: 12 months
    assert (answer["valid_from"], answer["valid_until"]) == ("2026-03-02", "2027-03-01")
    assert answer["destination"]["code"] == "440300"
    assert answer["id_masked"] == "110105********002X"


def test_refusal_is_a_decided_result(tmp_path: Path) -> None:
    request = with_changes(FILING, scope="in_province", destination="340202")  # 镜湖区 = home
    result = run("rules", "filing", write(tmp_path, request))
    assert result.returncode == 0
    answer = json.loads(result.stdout)
    assert answer["allowed"] is False
    assert [r["code"] for r in answer["reasons"] if r["severity"] == "error"] == [
        "destination_is_home"
    ]


def test_filing_from_stdin() -> None:
    request = with_changes(FILING, materials=["id_card"])
    result = run("rules", "filing", "-", stdin=json.dumps(request, ensure_ascii=False))
    assert result.returncode == 0
    answer = json.loads(result.stdout)
    assert answer["missing"] == ["filing_form"]
    assert answer["missing_labels"] == ["安徽省异地就医登记备案表"]


def test_claim_from_stdin() -> None:
    result = run("rules", "claim", "-", stdin=json.dumps(CLAIM))
    assert result.returncode == 0
    answer = json.loads(result.stdout)
    # (10000 − 900) × 0.85 = 7735.00; 12000 − 7735 = 4265.00; 10 working days from 2026-03-02
    assert answer["payment"]["fund_total"] == "7735.00"
    assert answer["payment"]["personal_cash"] == "4265.00"
    assert answer["due_date"] == "2026-03-16"


def test_materials_of_wuhu() -> None:
    result = run("rules", "materials", "--policy", "wuhu")
    assert result.returncode == 0
    answer = json.loads(result.stdout)
    assert answer["policy"] == "wuhu"
    labels = {m["id"]: m["label"] for m in answer["materials"]}
    assert {"e_voucher", "id_card", "ss_card", "filing_form", "commitment_letter"} <= set(labels)
    assert labels["filing_form"] == "安徽省异地就医登记备案表"
    assert labels["commitment_letter"] == "安徽省异地就医备案个人承诺书"


def test_materials_of_unknown_policy() -> None:
    result = run("rules", "materials", "--policy", "shanghai")
    assert result.returncode == 2
    assert [e["field"] for e in json.loads(result.stdout)["errors"]] == ["policy"]


def _future_visit() -> dict[str, Any]:
    """No ``today`` given: the CLI uses the system date, so a visit next month is in the future."""
    later = (dt.date.today() + dt.timedelta(days=31)).isoformat()
    return with_changes(
        CLAIM,
        today=...,
        treatment="outpatient",
        admission_date=...,
        discharge_date=...,
        visit_date=later,
    )


BAD = [
    pytest.param("filing", json.dumps(FILING)[:57], ["(请求)"], id="truncated-json"),
    pytest.param("filing", "[1, 2, 3]", ["(请求)"], id="not-an-object"),
    pytest.param("filing", '"2026-03-02"', ["(请求)"], id="a-bare-string"),
    pytest.param(
        "claim", with_changes(CLAIM, admission_date="2026-02-30"), ["admission_date"], id="bad-date"
    ),
    pytest.param(
        "filing", with_changes(FILING, today="02/03/2026"), ["today"], id="bad-date-format"
    ),
    pytest.param(
        "claim",
        with_changes(CLAIM, discharge_date="2026-01-31"),
        ["discharge_date"],
        id="discharge-before-admission",
    ),
    pytest.param(
        "claim",
        with_changes(CLAIM, amounts={"total": "12000.00", "in_scope": "10000.00"}),
        ["amounts.total"],
        id="amounts-do-not-add-up",
    ),
    pytest.param(
        "claim",
        with_changes(CLAIM, amounts={"total": "100.00", "in_scope": "100.00", "self_pay": "-5"}),
        ["amounts.self_pay"],
        id="negative-amount",
    ),
    pytest.param(
        "claim",
        with_changes(CLAIM, amounts={"total": "12000.00", "in_scope": "12000.001"}),
        ["amounts.in_scope"],
        id="three-decimals",
    ),
    pytest.param(
        "claim",
        with_changes(CLAIM, amounts={"total": "10000000.00", "in_scope": "9999999.99"}),
        ["amounts.total"],
        id="absurd-amount",
    ),
    pytest.param(
        "filing", with_changes(FILING, destination="999999"), ["destination"], id="unknown-place"
    ),
    pytest.param(
        "filing",
        with_changes(FILING, materials=["id_card", "filing_form", "photo"]),
        ["materials[2]"],
        id="unknown-material",
    ),
    pytest.param(
        "claim",
        with_changes(CLAIM, materials=["invoice", "selfie"]),
        ["materials[1]"],
        id="unknown-claim-material",
    ),
    pytest.param(
        "filing",
        with_changes(FILING, person={"name": "张三", "id_number": "110105194912310021"}),
        ["person.id_number"],
        id="id-number-checksum",
    ),
    pytest.param(
        "filing", with_changes(FILING, policy="shanghai"), ["policy"], id="unknown-policy"
    ),
    pytest.param("claim", with_changes(CLAIM, policy=7), ["policy"], id="policy-not-a-string"),
    pytest.param(
        "filing", with_changes(FILING, category="tourist"), ["category"], id="unknown-enum"
    ),
    pytest.param("claim", with_changes(CLAIM, filing="maybe"), ["filing"], id="unknown-enum-claim"),
    pytest.param("filing", with_changes(FILING, insurance=...), ["insurance"], id="missing-field"),
    pytest.param(
        "filing",
        with_changes(FILING, person={"name": "张三"}),
        ["person.id_number"],
        id="missing-nested-field",
    ),
    pytest.param(
        "claim",
        with_changes(
            CLAIM,
            treatment="outpatient",
            admission_date=...,
            discharge_date=...,
            visit_date="2026-03-03",
        ),
        ["visit_date"],
        id="visit-in-the-future",
    ),
    pytest.param("claim", _future_visit(), ["visit_date"], id="visit-after-system-today"),
    pytest.param("filing", with_changes(FILING, colour="blue"), ["colour"], id="unknown-field"),
]


@pytest.mark.parametrize(("kind", "request_data", "fields"), BAD)
def test_bad_input_names_the_field(
    tmp_path: Path, kind: str, request_data: Any, fields: list[str]
) -> None:
    result = run("rules", kind, write(tmp_path, request_data))
    assert result.returncode == 2, result.stdout
    errors = json.loads(result.stdout)["errors"]
    assert [e["field"] for e in errors] == fields
    assert all(isinstance(e["message"], str) and e["message"] for e in errors)


def test_every_bad_field_is_named_at_once(tmp_path: Path) -> None:
    request = with_changes(
        CLAIM,
        discharge_date="2026-01-31",
        materials=["nonsense"],
        amounts={"total": "10.00", "in_scope": "9.00"},
    )
    result = run("rules", "claim", write(tmp_path, request))
    assert result.returncode == 2
    fields = {e["field"] for e in json.loads(result.stdout)["errors"]}
    assert fields == {"materials[0]", "discharge_date", "amounts.total"}


def test_missing_request_file(tmp_path: Path) -> None:
    result = run("rules", "filing", str(tmp_path / "nowhere.json"))
    assert result.returncode == 2
    assert json.loads(result.stdout)["errors"][0]["field"] == "(文件)"


def _broken_pack(tmp_path: Path) -> Path:
    """A copy of the shipped 江苏 pack whose lock exceeds the national 6-month ceiling."""
    text = (policies_dir() / "jiangsu.toml").read_text(encoding="utf-8")
    assert text.count("\nmonths = 6\n") == 1
    path = tmp_path / "office-jiangsu.toml"
    path.write_text(text.replace("\nmonths = 6\n", "\nmonths = 12\n"), encoding="utf-8")
    return path


def test_broken_pack_exits_3_naming_file_and_key(tmp_path: Path) -> None:
    pack = _broken_pack(tmp_path)
    request = with_changes(FILING, policy="jiangsu", materials=["id_card"])
    result = run("rules", "filing", write(tmp_path, request), "--pack", str(pack))
    assert result.returncode == 3, result.stdout
    message = json.loads(result.stdout)["errors"][0]["message"]
    assert str(pack) in message
    assert "filing.locks[0].months" in message
    assert "6" in message


def test_broken_pack_for_materials_and_claims(tmp_path: Path) -> None:
    pack = _broken_pack(tmp_path)
    listing = run("rules", "materials", "--policy", "jiangsu", "--pack", str(pack))
    assert listing.returncode == 3
    claim = run("rules", "claim", write(tmp_path, CLAIM), "--pack", str(pack))
    assert claim.returncode == 3
    for result in (listing, claim):
        message = json.loads(result.stdout)["errors"][0]["message"]
        assert str(pack) in message and "filing.locks[0].months" in message


def test_toml_syntax_error_in_pack(tmp_path: Path) -> None:
    pack = tmp_path / "broken.toml"
    pack.write_text((policies_dir() / "hunan.toml").read_text(encoding="utf-8")[:300] + "\n[[[")
    result = run("rules", "filing", write(tmp_path, FILING), "--pack", str(pack))
    assert result.returncode == 3
    assert str(pack) in json.loads(result.stdout)["errors"][0]["message"]


def test_an_intact_copy_of_a_pack_works(tmp_path: Path) -> None:
    pack = tmp_path / "office-wuhu.toml"
    pack.write_text((policies_dir() / "wuhu.toml").read_text(encoding="utf-8"), encoding="utf-8")
    result = run("rules", "filing", write(tmp_path, FILING), "--pack", str(pack))
    assert result.returncode == 0
    assert json.loads(result.stdout)["allowed"] is True


@pytest.mark.slow
def test_the_command_as_a_process_answers_as_in_process() -> None:
    """``python -m counter_app`` (UTF-8 on standard input and output, exit codes) gives what the
    in-process runs of this module check."""
    request = json.dumps(FILING, ensure_ascii=False)
    process = run_process("rules", "filing", "-", stdin=request)
    inside = run("rules", "filing", "-", stdin=request)
    assert process.returncode == inside.returncode == 0
    assert json.loads(process.stdout) == json.loads(inside.stdout)
    bad = json.dumps(with_changes(FILING, destination="999999"), ensure_ascii=False)
    refused = run_process("rules", "filing", "-", stdin=bad)
    assert refused.returncode == run("rules", "filing", "-", stdin=bad).returncode == 2
