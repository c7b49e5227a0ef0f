"""The shop's pages in a real browser: headless Chromium (Debian's chromium and chromedriver, driven
by Selenium) against the services served by uvicorn, with the real cache, database and search
stand-in behind them. A shopper goes home -> category -> product -> bought together -> search -> cart
by clicking links and submitting the search form (screenshots land in build/test-artifacts/), and
signs in with an emailed link, whose token rides in the URL's fragment that only the page's script
reads.
"""

from __future__ import annotations

import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.app_clients import Served
from tests.support.app_env import ALICE
from tests.support.app_stores import Aws, Catalog, WrittenLogs

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@pytest.fixture
def served_storefront(storefront_runtime: Any) -> Iterator[str]:
    import uvicorn

    from shop.storefront.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(create_app(lambda: storefront_runtime), log_level="warning",
                                           timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("chromium and chromium-driver are not installed: `make test` installs them "
                    "(scripts/install-system-packages.sh)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="shop-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={profile}", "--window-size=1200,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _screenshot(driver: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"storefront-{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot for {name}"
    return path


def test_a_shopper_browses_searches_and_sees_the_cart(
        served_storefront: str, browser: Any, storefront_runtime: Any, catalog: Catalog) -> None:
    from selenium.webdriver.common.by import By

    from shop.search.indexes import (
        PRODUCTS,
        RECOMMENDATIONS,
        product_document,
        recommendation_document,
        upsert,
    )
    from shop.userstate import SESSION_COOKIE

    # GIVEN a catalog, indexed, with a bought-together list, and a shopper with a cart
    now = datetime.now(UTC)
    products = [catalog.put("TEE-BLK-M", "Black tee, M", 2500, description="Heavy cotton"),
                catalog.put("CAP-RED", "Red cap", 1800),
                catalog.put("MUG-WHT", "White mug", 1200, category="kitchen")]
    for product in products:
        upsert(storefront_runtime.search, PRODUCTS, product_document(product, now))
    upsert(storefront_runtime.search, RECOMMENDATIONS,
           recommendation_document("TEE-BLK-M", 1, [("MUG-WHT", 4), ("CAP-RED", 2)], now))
    cart = storefront_runtime.carts.create(ALICE)
    token = storefront_runtime.sessions.create(ALICE, cart_id=cart.cart_id)
    storefront_runtime.carts.set_quantity(cart.cart_id, ALICE, "TEE-BLK-M", 2)
    storefront_runtime.carts.set_quantity(cart.cart_id, ALICE, "MUG-WHT", 1)

    # WHEN the shopper opens the home page and follows the links
    browser.get(served_storefront + "/")
    assert browser.title == "Shop"
    browser.find_element(By.LINK_TEXT, "Apparel").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "Apparel"
    _screenshot(browser, "category")
    browser.find_element(By.LINK_TEXT, "Black tee, M").click()
    assert browser.current_url.endswith("/products/TEE-BLK-M")
    assert browser.find_element(By.CSS_SELECTOR, "#product .price").text == "25.00 USD"
    together = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "#bought-together a.product-link")]
    assert together == ["White mug", "Red cap"]
    _screenshot(browser, "product")
    browser.find_element(By.CSS_SELECTOR, "#bought-together a.product-link").click()
    assert browser.find_element(By.TAG_NAME, "h1").text == "White mug"

    # AND searches with the form
    box = browser.find_element(By.CSS_SELECTOR, "#search input[name=q]")
    box.send_keys("cotton tee")
    box.submit()
    assert browser.find_element(By.ID, "result-count").text == "1 product"
    assert [a.text for a in browser.find_elements(By.CSS_SELECTOR, "a.product-link")] == ["Black tee, M"]
    _screenshot(browser, "search")

    # AND opens the cart with the session cookie the account pages set (the session knows its cart)
    browser.add_cookie({"name": SESSION_COOKIE, "value": token, "path": "/", "secure": True})
    browser.find_element(By.ID, "cart-link").click()
    lines = {row.get_attribute("data-sku"): row.text
             for row in browser.find_elements(By.CSS_SELECTOR, "tr.cart-line")}
    assert set(lines) == {"TEE-BLK-M", "MUG-WHT"}
    assert "50.00 USD" in lines["TEE-BLK-M"]
    assert browser.find_element(By.ID, "cart-total").text == "Total: 62.00 USD"
    _screenshot(browser, "cart")

    # THEN every link on every page visited leads to a page that answers
    import urllib.request

    for path in ("/", "/categories/apparel", "/products/TEE-BLK-M", "/search?q=tee", "/cart"):
        browser.get(served_storefront + path)
        for link in browser.find_elements(By.CSS_SELECTOR, "a[href^='/'], a[href^='http://127.0.0.1']"):
            href = link.get_attribute("href")
            with urllib.request.urlopen(href, timeout=10) as response:  # noqa: S310 - our local server
                assert response.status == 200, href
    assert (ARTIFACTS / "storefront-cart.png").stat().st_size > 1000


def test_an_unknown_product_page_is_a_404_page_with_a_way_back(served_storefront: str, browser: Any,
                                                             catalog: Catalog) -> None:
    from selenium.webdriver.common.by import By

    browser.get(served_storefront + "/products/NO-SUCH-SKU")
    assert browser.find_element(By.ID, "error-message").text == "There is no such product."
    browser.find_element(By.LINK_TEXT, "Back to the shop").click()
    assert browser.title == "Shop"


def test_a_sign_in_link_signs_the_browser_in_and_its_token_reaches_no_log(
        served: Served, written_logs: WrittenLogs, browser: Any, aws: Aws) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from shop.accounts.service import CONFIRM_PATH, LINK_FRAGMENT_KEY

    # GIVEN a shopper who asked for a sign-in link on the page
    browser.get(served.url + "/account/sign-in")
    browser.find_element(By.CSS_SELECTOR, "input[name=email]").send_keys("erin@example.com")
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    # (a click only starts the form's navigation: each wait below is for the page it ends on, bounded
    # against a hang, not a timing assertion)
    WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda driver: driver.find_element(By.TAG_NAME, "h1").text == "Check your inbox")
    [mail] = [m.body for m in aws.sent_emails() if m.destinations["ToAddresses"] == ["erin@example.com"]]
    link = re.search(rf"https://\S+{CONFIRM_PATH}#{LINK_FRAGMENT_KEY}=([A-Za-z0-9_-]+)", mail)
    assert link, mail
    token = link.group(1)

    # WHEN the browser opens the link (on this server) and the shopper presses the one button
    browser.get(f"{served.url}{CONFIRM_PATH}#{LINK_FRAGMENT_KEY}={token}")
    assert browser.current_url == served.url + CONFIRM_PATH  # the script took the token off the URL
    assert not browser.find_element(By.ID, "link-token").is_displayed()
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    WebDriverWait(browser, 30).until(lambda driver: urlsplit(driver.current_url).path == "/")

    # THEN the browser is signed in
    browser.get(served.url + "/account")
    assert "You are signed in" in browser.find_element(By.TAG_NAME, "main").text
    # AND the token never reached the server but in the form's body: every request is in the access
    # log, and the token in none of its lines
    logs = written_logs.text()
    assert f"GET {CONFIRM_PATH} HTTP" in logs and f"POST {CONFIRM_PATH} HTTP" in logs
    assert token not in logs
