"""Catalog import from CSV, through the admin API, its HTML form and the command line: validated row
by row, all or nothing, idempotent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.alb_standin import AlbStandIn
from tests.support.app_clients import as_staff
from tests.support.app_stores import Db

CATALOG = """sku,name,description,category,category_name,price_cents,currency,stock,active
TEE-WHT-S,"White tee, S",Organic cotton,tees,T-shirts,2500,USD,120,true
TEE-WHT-M,"White tee, M",Organic cotton,tees,,2500,USD,80,true
MUG-GRN,Green mug,"Stoneware, 350 ml",kitchen,Kitchen,1400,USD,0,false
"""
BAD = """sku,name,price_cents,currency,stock,active
TEE-WHT-S,White tee,25.00,USD,120,true
tee lowercase,Bad sku,2500,USD,1,true
MUG-GRN,,1400,usd,-3,maybe
TEE-WHT-S,Again,2500,USD,1,true
"""
TABLES = ("products", "categories", "catalog_audit", "outbox", "catalog_imports")


def state(db: Db) -> dict[str, int]:
    return {table: db.count(table) for table in TABLES}


def post_csv(admin: Any, alb: AlbStandIn, text: str, **params: str) -> Any:  # noqa: F811
    return admin.post("/admin/api/imports", content=text.encode(), params=params,
                      headers={**as_staff(alb.token()), "content-type": "text/csv"})


def test_a_catalog_file_is_imported_once_and_importing_it_again_changes_nothing(
        admin: Any, alb: AlbStandIn, db: Db) -> None:  # noqa: F811
    first = post_csv(admin, alb, CATALOG)
    assert first.status_code == 201, first.text
    assert {k: first.json()[k] for k in ("rows", "created", "updated", "unchanged")} == \
        {"rows": 3, "created": 3, "updated": 0, "unchanged": 0}
    assert db.rows("SELECT slug, name FROM categories ORDER BY slug") == [
        {"slug": "kitchen", "name": "Kitchen"}, {"slug": "tees", "name": "T-shirts"}]
    [mug] = db.rows("SELECT name, description, stock, active, version FROM products WHERE sku = 'MUG-GRN'")
    assert mug == {"name": "Green mug", "description": "Stoneware, 350 ml", "stock": 0, "active": False,
                   "version": 1}
    assert db.count("outbox") == 3 and db.count("catalog_audit") == 3
    after_first = state(db)

    again = post_csv(admin, alb, CATALOG)
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 3)
    assert {k: v for k, v in state(db).items() if k != "catalog_imports"} == \
        {k: v for k, v in after_first.items() if k != "catalog_imports"}

    changed = post_csv(admin, alb, CATALOG.replace("0,false", "25,true"))
    assert (changed.json()["updated"], changed.json()["unchanged"]) == (1, 2)
    assert db.rows("SELECT version FROM products WHERE sku = 'MUG-GRN'") == [{"version": 2}]


def test_a_file_with_bad_rows_lists_every_problem_and_writes_nothing(
        admin: Any, alb: AlbStandIn, db: Db) -> None:  # noqa: F811
    before = state(db)
    response = post_csv(admin, alb, BAD)

    assert response.status_code == 422
    errors = {(e["line"], e["column"]) for e in response.json()["errors"]}
    assert errors >= {(2, "price_cents"), (3, "sku"), (4, "name"), (4, "currency"), (4, "stock"),
                      (4, "active"), (5, "sku")}
    assert all(e["message"] for e in response.json()["errors"])
    assert state(db) == before


def test_one_bad_row_among_good_ones_rejects_the_whole_file(admin: Any, alb: AlbStandIn, db: Db) -> None:  # noqa: F811
    before = state(db)
    text = CATALOG + "CAP-BLU,Blue cap,,hats,,1800,USD,5,true\n"  # a category nobody named
    response = post_csv(admin, alb, text)
    assert response.status_code == 422
    assert [(e["line"], e["column"]) for e in response.json()["errors"]] == [(5, "category")]
    assert state(db) == before


@pytest.mark.parametrize(("text", "where"), [
    ("", (1, "header")),
    ("sku,name,price_cents,currency,stock,active,colour\n", (1, "colour")),
    ("sku,name,price_cents,currency,active\n", (1, "stock")),
    ("sku,name,price_cents,currency,stock,active\nA-1,x,1,USD,1\n", (2, "row")),
])
def test_a_malformed_file_names_the_line_and_column(admin: Any, alb: AlbStandIn, text: str,  # noqa: F811
                                                     where: tuple[int, str]) -> None:
    response = post_csv(admin, alb, text)
    assert response.status_code == 422
    assert where in {(e["line"], e["column"]) for e in response.json()["errors"]}


def test_numbers_beyond_the_catalogs_columns_are_row_errors(admin: Any, alb: AlbStandIn, db: Db) -> None:  # noqa: F811
    before = state(db)
    # 12 digits are whole numbers to the file's rules, but stock is an integer column (was a 500)
    text = "sku,name,price_cents,currency,stock,active\nA-1,x,1,USD,99999999999,true\n"
    response = post_csv(admin, alb, text)
    assert response.status_code == 422
    assert [(e["line"], e["column"]) for e in response.json()["errors"]] == [(2, "stock")]
    assert state(db) == before


def test_a_dry_run_counts_and_writes_nothing(admin: Any, alb: AlbStandIn, db: Db) -> None:  # noqa: F811
    before = state(db)
    response = post_csv(admin, alb, CATALOG, dry_run="true")
    assert response.status_code == 200 and response.json()["created"] == 3
    assert state(db) == before


def test_a_viewer_cannot_import(admin: Any, alb: AlbStandIn, db: Db) -> None:  # noqa: F811
    viewer = alb.token({"sub": "v", "groups": ["shop-viewers"]})
    response = admin.post("/admin/api/imports", content=CATALOG.encode(),
                          headers={"x-amzn-oidc-data": viewer, "content-type": "text/csv"})
    assert response.status_code == 403 and db.count("categories") == 0


def test_staff_import_a_file_from_the_browser_form(admin: Any, alb: AlbStandIn, db: Db) -> None:  # noqa: F811
    headers = as_staff(alb.token())
    page = admin.get("/admin/import", headers=headers)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    admin.cookies.set("__Host-csrf", token)  # what the browser got with the page (TestClient is http)

    done = admin.post("/admin/import", headers=headers, data={"csrf_token": token},
                      files={"file": ("catalog.csv", CATALOG.encode(), "text/csv")})
    assert done.status_code == 200 and "3 created" in done.text
    assert db.count("products") == 4 + 3

    forged = admin.post("/admin/import", headers=headers, data={"csrf_token": "x" * 43},
                        files={"file": ("catalog.csv", CATALOG.encode(), "text/csv")})
    assert forged.status_code == 403


def _form(boundary: str, token: str, csv_part: bytes, *, encoding: str | None = None) -> tuple[bytes, str]:
    transfer = f"Content-Transfer-Encoding: {encoding}\r\n".encode() if encoding else b""
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\n"
            "Content-Type: text/csv\r\n").encode() + transfer + b"\r\n" + csv_part + \
        f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_the_guard_reads_the_form_as_the_import_does(admin: Any, alb: AlbStandIn, db: Db) -> None:  # noqa: F811
    import base64

    headers = as_staff(alb.token())
    page = admin.get("/admin/import", headers=headers)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    admin.cookies.set("__Host-csrf", token)
    # GIVEN a card number in a product name, in a file part that the form decodes from base64
    hidden = base64.b64encode(CATALOG.replace("Green mug", "4000 0566 5566 5556").encode())
    body, content_type = _form("b1", token, hidden, encoding="base64")
    refused = admin.post("/admin/import", headers={**headers, "content-type": content_type}, content=body)
    # THEN it is refused (the guard saw only the base64 text before), naming the part
    assert (refused.status_code, refused.json()["field"]) == (400, "body.file")
    assert db.count("products") == 4
    # AND a boundary whose random digits happen to pass the Luhn check is not card data (Python
    # clients draw 32 hex digits: about one upload in 800 was refused)
    body, content_type = _form("4000056655665556", token, CATALOG.encode())
    accepted = admin.post("/admin/import", headers={**headers, "content-type": content_type}, content=body)
    assert accepted.status_code == 200 and "3 created" in accepted.text


def test_the_command_line_imports_and_rejects_like_the_api(
        db: Db, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shop.admin.import_catalog import main

    good, bad = tmp_path / "catalog.csv", tmp_path / "bad.csv"
    good.write_text(CATALOG)
    bad.write_text(BAD)

    assert main([str(bad), "--actor", "ops@example.com"]) == 1
    err = capsys.readouterr().err
    assert "nothing was imported" in err
    assert "line 2, column price_cents" in err and "line 5, column sku" in err
    assert db.count("catalog_imports") == 0 and db.count("categories") == 0

    assert main([str(good), "--actor", "ops@example.com"]) == 0
    assert "3 created, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert db.rows("SELECT actor, source, rows FROM catalog_imports") == [
        {"actor": "ops@example.com", "source": "cli", "rows": 3}]
    assert main([str(good), "--actor", "ops@example.com"]) == 0
    assert "0 created, 0 updated, 3 unchanged" in capsys.readouterr().out
    assert main([str(tmp_path / "missing.csv"), "--actor", "ops@example.com"]) == 2
