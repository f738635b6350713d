"""A browser without JavaScript, for the console's tests: it follows links and sends forms.

`FormClient` keeps the cookies, reads each page's forms (their hidden fields — the CSRF
token, the idempotency key, where to come back to — included) and sends one as a person
would, filling in what the test gives. Pages in a real Chromium are `tests/browser`'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx


@dataclass
class HtmlForm:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    #: Each submit button's (name, value), in order; ("", "") for a button without a name.
    buttons: list[tuple[str, str]] = field(default_factory=list)
    #: Every field name the form has (inputs, selects, text areas), hidden or not.
    names: set[str] = field(default_factory=set)
    enctype: str = "application/x-www-form-urlencoded"


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self.text: list[str] = []
        self._form: HtmlForm | None = None
        self._select: str | None = None
        self._textarea: str | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "form":
            self._form = HtmlForm(
                a.get("action", ""),
                a.get("method", "get").lower(),
                enctype=a.get("enctype", "application/x-www-form-urlencoded"),
            )
            self.forms.append(self._form)
        form = self._form
        if form is None:
            return
        name = a.get("name", "")
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind == "submit":
                form.buttons.append((name, a.get("value", "")))
            elif kind in ("checkbox", "radio"):
                form.names.add(name)
                if "checked" in a:
                    form.fields[name] = a.get("value", "on")
            elif name:
                form.names.add(name)
                form.fields[name] = a.get("value", "")
        elif tag == "button" and a.get("type", "submit") == "submit":
            form.buttons.append((name, a.get("value", "")))
        elif tag == "select" and name:
            form.names.add(name)
            self._select = name
        elif tag == "option" and self._select:
            if self._select not in form.fields or "selected" in a:
                form.fields[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            form.names.add(name)
            form.fields[name] = ""
            self._textarea = name

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self._form is not None:
            self._form.fields[self._textarea] += data
        if not self._skip:
            self.text.append(data)


@dataclass
class Page:
    url: str
    status: int
    html: str
    forms: list[HtmlForm]
    text: str

    def form(self, action: str, button: str | None = None) -> HtmlForm:
        """The form posting to `action` (with a button whose value is `button`, if given)."""
        for form in self.forms:
            if form.action == action and (
                button is None or any(value == button for _, value in form.buttons)
            ):
                return form
        actions = sorted({f.action for f in self.forms})
        raise AssertionError(f"no form to {action!r} on {self.url}; forms: {actions}")

    def has_form(self, action: str) -> bool:
        return any(form.action == action for form in self.forms)

    def says(self, *phrases: str) -> bool:
        return all(phrase in self.text for phrase in phrases)


def read_page(response: httpx.Response) -> Page:
    reader = _Reader()
    reader.feed(response.text)
    text = re.sub(r"\s+", " ", " ".join(reader.text))
    return Page(str(response.url), response.status_code, response.text, reader.forms, text)


class FormClient:
    """One browser (one cookie jar) on the console at `base_url`."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, follow_redirects=True, timeout=60.0)

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, **params: str) -> Page:
        return read_page(self.http.get(path, params=params or None))

    def submit(
        self,
        page: Page,
        action: str,
        fields: Mapping[str, str | list[str]] | None = None,
        *,
        button: str | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Page:
        """Send the form to `action` on `page`, as its button (`button`: the one of that value)
        would, with `fields` typed in over what the form holds."""
        form = page.form(action, button)
        unknown = set(fields or {}) - form.names
        assert not unknown, f"the form to {action} has no field {sorted(unknown)}"
        data: dict[str, str | list[str]] = {**form.fields, **(fields or {})}
        pressed = next((b for b in form.buttons if button is None or b[1] == button), None)
        if pressed and pressed[0]:
            data[pressed[0]] = pressed[1]
        target = action or page.url
        if form.method == "get":  # a search form: its fields go in the query
            return read_page(self.http.get(target, params=data))
        return read_page(self.http.post(target, data=data, files=files))

    def sign_in(self, user_id: str, name: str, role: str, jurisdiction: str, org: str = "") -> Page:
        """The development persona picker, as anyone."""
        page = self.get("/signin")
        fields = {
            "user_id": user_id,
            "name": name,
            "role": role,
            "org": org,
            "jurisdiction": jurisdiction,
        }
        form = next(f for f in page.forms if "role" in f.names and not f.fields.get("user_id"))
        data = {**form.fields, **fields}
        return read_page(self.http.post("/signin/persona", data=data))
