"""Signing in to the console in Chromium, by keyboard alone, in both languages; the pages pass
axe-core's checks and the browser refuses nothing of ours (the CSP allows no inline script)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from shared.system import System

from .harness import Screens

pytestmark = pytest.mark.browser


@pytest.fixture
def page(chromium: Browser, system: System) -> Iterator[Page]:
    context = chromium.new_context(base_url=system.console_url, locale="zh-CN")
    tab = context.new_page()
    refused: list[str] = []

    def listen(message: ConsoleMessage) -> None:
        if message.type == "error":
            refused.append(message.text)

    tab.on("console", listen)
    yield tab
    context.close()
    assert not refused, f"the browser reported errors: {refused}"


def test_someone_signs_in_by_keyboard_in_chinese_then_english(
    page: Page, screenshots: Path
) -> None:
    screens = Screens(screenshots / "sign-in")
    page.goto("/")
    expect(page.locator("h1")).to_have_text("登录")
    screens.see(page, "sign-in")
    # Keyboard only: the skip link first, then into the form for someone else.
    page.keyboard.press("Tab")
    expect(page.locator("a.skip")).to_be_focused()
    page.locator("#user_id").focus()
    page.keyboard.type("wangfang")
    page.keyboard.press("Tab")
    page.keyboard.type("王芳")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # 省级科协审核人员
    page.keyboard.press("Tab")
    page.keyboard.type("cast-yn")
    page.keyboard.press("Tab")
    page.keyboard.type("53")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("欢迎，王芳")
    expect(page.locator("main")).to_contain_text("省级科协审核人员")
    screens.see(page, "home-zh")
    page.get_by_role("button", name="English").click()
    expect(page.locator("h1")).to_have_text("Welcome, 王芳")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screens.see(page, "home-en")
    assert not screens.violations, screens.violations
