"""The integration guide's examples, filled in with one project's base URL, key, domain and
event key.

Examples are built as plain text here and escaped for HTML by the template. Each value is
quoted for the language it lands in (a single-quoted JS string, a single-quoted shell word,
a JSON string), so an example still runs whatever characters a value holds.
"""

from __future__ import annotations

import copy
import html
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext as _

from orderreport.examples import GUIDE_ORDER
from orderreport.projects.models import Project
from orderreport.projects.services import Setup

API_KEY_PLACEHOLDER = "YOUR_API_KEY"
EVENT_KEY_PLACEHOLDER = "YOUR_EVENT_KEY"
ORIGIN_PLACEHOLDER = "https://example.com"


def fresh_order_id() -> str:
    """An example order id new on each page load: `order-<milliseconds since 1970>`.

    A fixed id would make the second paste of the same example answer 409 (ids are unique in a
    project). The snippets that carry it name it in data-order-id, and js/integration.js puts a
    newer id of the same shape in its place at each press of Copy.
    """
    return f"order-{time.time_ns() // 1_000_000}"


def js_str(value: str) -> str:
    """A single-quoted JavaScript string literal, as the guide writes them."""
    # json.dumps escapes backslashes, control characters and line separators; then the
    # double-quoted form is turned into the guide's single-quoted one.
    inner = json.dumps(value, ensure_ascii=False)[1:-1]
    inner = inner.replace('\\"', '"').replace("'", "\\'")
    inner = inner.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"'{inner}'"


def sh_quote(value: str) -> str:
    """One single-quoted POSIX shell word (shlex.quote leaves URLs bare; the guide quotes)."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def _js_value(value: Any, indent: int) -> str:
    """A JS object literal in the guide's style: bare keys, single-quoted strings."""
    pad = "  " * indent
    inner = "  " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{inner}{k}: {_js_value(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if all(isinstance(v, dict) and len(v) <= 2 for v in value):
            rows = [
                inner + "{ " + ", ".join(f"{k}: {_js_value(x, 0)}" for k, x in v.items()) + " }"
                for v in value
            ]
            return "[\n" + ",\n".join(rows) + f"\n{pad}]"
        return "[\n" + ",\n".join(inner + _js_value(v, indent + 1) for v in value) + f"\n{pad}]"
    if isinstance(value, str):
        return js_str(value)
    return json.dumps(value)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class Examples:
    base_url: str
    api_key: str
    origin: str
    event_key: str
    orders_url: str
    events_url: str
    order_fetch: str
    order_curl: str
    event_fetch: str
    event_curl: str
    js_helper: str
    order_id: str
    php: str


def example_order(project: Project, order_id: str | None = None) -> dict[str, Any]:
    order = {**copy.deepcopy(GUIDE_ORDER), "currency": project.currency}
    if order_id is not None:
        order["id"] = order_id
    return order


def _fetch(url: str, api_key: str, body: dict[str, Any]) -> str:
    return (
        f"await fetch({js_str(url)}, {{\n"
        "  method: 'POST',\n"
        "  headers: {\n"
        "    'Content-Type': 'application/json',\n"
        f"    'X-API-KEY': {js_str(api_key)}\n"
        "  },\n"
        f"  body: JSON.stringify({_js_value(body, 1)})\n"
        "});"
    )


def _curl(url: str, api_key: str, origin: str, body: dict[str, Any]) -> str:
    data = _json_text(body).replace("\n", "\n  ")
    return (
        f"curl -X POST {sh_quote(url)} \\\n"
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -H {sh_quote('X-API-KEY: ' + api_key)} \\\n"
        f"  -H {sh_quote('Origin: ' + origin)} \\\n"
        f"  -d {sh_quote(data)}"
    )


def _helper(base_url: str, api_key: str, order: dict[str, Any], event: dict[str, Any]) -> str:
    example = (
        f"await sendOrder({_js_value(order, 0)});\nawait sendEvent({_js_value(event, 0)});"
    ).replace("\n", "\n// ")
    return (
        f"const OR_API_BASE = {js_str(base_url)};\n"
        f"const OR_API_KEY = {js_str(api_key)};\n"
        "\n"
        "async function sendOrder(payload) {\n"
        "  return sendToOrderReport('/api/orders/track', payload);\n"
        "}\n"
        "\n"
        "async function sendEvent(payload) {\n"
        "  return sendToOrderReport('/api/events/track', payload);\n"
        "}\n"
        "\n"
        "async function sendToOrderReport(path, payload) {\n"
        "  const res = await fetch(`${OR_API_BASE}${path}`, {\n"
        "    method: 'POST',\n"
        "    headers: {\n"
        "      'Content-Type': 'application/json',\n"
        "      'X-API-KEY': OR_API_KEY\n"
        "    },\n"
        "    body: JSON.stringify(payload)\n"
        "  });\n"
        "\n"
        "  const body = await res.json().catch(() => ({}));\n"
        "\n"
        "  if (!res.ok) {\n"
        "    throw new Error(`OrderReport API error: ${res.status} "
        "${body.message || 'Unknown error'}`);\n"
        "  }\n"
        "\n"
        "  return body;\n"
        "}\n"
        "\n"
        f"// Example:\n// {example}"
    )


def _php_value(value: Any, indent: int) -> str:
    """A PHP array literal in the style of docs/integration.md: short arrays, `=>`."""
    pad = "    " * indent
    inner = "    " * (indent + 1)
    if isinstance(value, dict):
        if all(isinstance(v, str) for v in value.values()) and len(value) <= 2:
            return "[" + ", ".join(f"{php_str(k)} => {php_str(v)}" for k, v in value.items()) + "]"
        items = [f"{inner}{php_str(k)} => {_php_value(v, indent + 1)}," for k, v in value.items()]
        return "[\n" + "\n".join(items) + f"\n{pad}]"
    if isinstance(value, list):
        if not value:
            return "[]"
        return (
            "[\n" + "\n".join(f"{inner}{_php_value(v, indent + 1)}," for v in value) + f"\n{pad}]"
        )
    if isinstance(value, str):
        return php_str(value)
    return json.dumps(value)


def _php(
    base_url: str, api_key: str, origin: str, order: dict[str, Any], event: dict[str, Any]
) -> str:
    """docs/integration.md's PHP example (cURL extension, retries), filled in."""
    return (
        "<?php\n"
        f"const OR_API_BASE = {php_str(base_url)};\n"
        f"const OR_API_KEY = {php_str(api_key)};\n"
        f"const OR_ORIGIN = {php_str(origin)}; // a domain added to the project\n"
        "\n"
        "/** POST $payload; retries network errors, 429 and 503; throws RuntimeException "
        "otherwise. */\n"
        "function orderreport_send(string $path, array $payload, int $attempts = 4): array\n"
        "{\n"
        "    $json = json_encode($payload, JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR);\n"
        "    for ($attempt = 1; ; $attempt++) {\n"
        "        $ch = curl_init(OR_API_BASE . $path);\n"
        "        curl_setopt_array($ch, [\n"
        "            CURLOPT_POST => true,\n"
        "            CURLOPT_POSTFIELDS => $json,\n"
        "            CURLOPT_HTTPHEADER => [\n"
        "                'Content-Type: application/json',\n"
        "                'X-API-KEY: ' . OR_API_KEY,\n"
        "                'Origin: ' . OR_ORIGIN,\n"
        "            ],\n"
        "            CURLOPT_RETURNTRANSFER => true,\n"
        "            CURLOPT_TIMEOUT => 10,\n"
        "        ]);\n"
        "        $raw = curl_exec($ch);\n"
        "        $status = (int) curl_getinfo($ch, CURLINFO_RESPONSE_CODE);\n"
        "        $error = curl_error($ch);\n"
        "        curl_close($ch);\n"
        "\n"
        "        if ($raw === false) { // no answer: the record may or may not be stored\n"
        "            if ($attempt >= $attempts) {\n"
        '                throw new RuntimeException("OrderReport unreachable: $error");\n'
        "            }\n"
        "            sleep(2 ** $attempt);\n"
        "            continue;\n"
        "        }\n"
        "        $body = json_decode($raw, true);\n"
        "        $body = is_array($body) ? $body : [];\n"
        "        if ($status < 400) {\n"
        "            return $body;\n"
        "        }\n"
        "        if ($status === 409 && $attempt > 1) {\n"
        "            return ['message' => 'Order tracked', 'id' => (string) $payload['id']]; "
        "// stored earlier\n"
        "        }\n"
        "        if (!in_array($status, [429, 503], true) || $attempt >= $attempts) {\n"
        "            $message = $body['message'] ?? 'Unknown error';\n"
        '            throw new RuntimeException("OrderReport API error: $status $message", '
        "$status);\n"
        "        }\n"
        "        sleep(2 ** $attempt);\n"
        "    }\n"
        "}\n"
        "\n"
        f"orderreport_send('/api/orders/track', {_php_value(order, 0)});\n"
        f"orderreport_send('/api/events/track', {_php_value(event, 0)});"
    )


def build_examples(
    project: Project, setup: Setup, base_url: str, order_id: str | None = None
) -> Examples:
    """Every example of the guide for this project; placeholders where a part is missing.

    Order examples carry order_id (a fresh one by default, see fresh_order_id)."""
    api_key = setup.key.key if setup.key else API_KEY_PLACEHOLDER
    origin = setup.origin or ORIGIN_PLACEHOLDER
    event_key = setup.event.key if setup.event else EVENT_KEY_PLACEHOLDER
    orders_url = base_url + "/api/orders/track"
    events_url = base_url + "/api/events/track"
    order = example_order(project, order_id or fresh_order_id())
    event = {
        "event": event_key,
        "data": [
            {"name": "Имя", "value": "Ruslan Garapov"},
            {"name": "Телефон", "value": "+998888214888"},
        ],
    }
    return Examples(
        base_url=base_url,
        api_key=api_key,
        origin=origin,
        event_key=event_key,
        orders_url=orders_url,
        events_url=events_url,
        order_fetch=_fetch(orders_url, api_key, order),
        order_curl=_curl(orders_url, api_key, origin, order),
        event_fetch=_fetch(events_url, api_key, event),
        event_curl=_curl(events_url, api_key, origin, event),
        js_helper=_helper(base_url, api_key, order, event),
        order_id=order["id"],
        php=_php(base_url, api_key, origin, order, event),
    )


SERVER_KEY_PLACEHOLDER = "sk_YOUR_SERVER_KEY"
ORDER_ID_PLACEHOLDER = "order-100234"
DOMAIN_PLACEHOLDER = "example.com"


def py_str(value: str) -> str:
    """A double-quoted Python string literal (JSON's escapes are Python's too)."""
    return json.dumps(value, ensure_ascii=False)


def php_str(value: str) -> str:
    """A single-quoted PHP string: only the quote and the backslash are escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class ServerExamples:
    """The Server API section's examples: update (cURL, PHP, Python) and read (cURL)."""

    server_key: str
    order_id: str
    domain: str
    update_url: str
    read_url: str
    update_curl: str
    update_php: str
    update_python: str
    read_curl: str


def build_server_examples(
    base_url: str, domain: str | None, order_id: str | None, server_key: str | None
) -> ServerExamples:
    """Examples for a server key: the real value only in the answer that created it."""
    key = server_key or SERVER_KEY_PLACEHOLDER
    oid = order_id or ORDER_ID_PLACEHOLDER
    host = domain or DOMAIN_PLACEHOLDER
    update_url = base_url + "/api/orders/update"
    read_url = base_url + "/api/external/orders"
    body = _json_text({"id": oid, "status": "paid"}).replace("\n", "\n  ")
    update_curl = (
        f"curl -X POST {sh_quote(update_url)} \\\n"
        f"  -H 'Content-Type: application/json' \\\n"
        f"  -H {sh_quote('X-API-KEY: ' + key)} \\\n"
        f"  -d {sh_quote(body)}"
    )
    update_php = (
        "<?php\n"
        f"// On the server of {host}: never put the server key in a page.\n"
        f"$ch = curl_init({php_str(update_url)});\n"
        "curl_setopt_array($ch, [\n"
        "    CURLOPT_POST => true,\n"
        "    CURLOPT_RETURNTRANSFER => true,\n"
        "    CURLOPT_TIMEOUT => 10,\n"
        "    CURLOPT_HTTPHEADER => [\n"
        "        'Content-Type: application/json',\n"
        f"        {php_str('X-API-KEY: ' + key)},\n"
        "    ],\n"
        f"    CURLOPT_POSTFIELDS => json_encode(['id' => {php_str(oid)}, "
        "'status' => 'shipped']),\n"
        "]);\n"
        "$body = curl_exec($ch);\n"
        "$status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);\n"
        "curl_close($ch);\n"
        "$answer = json_decode($body, true);\n"
        "if ($status !== 200) {\n"
        "    error_log(\"OrderReport update failed: $status {$answer['code']} "
        "{$answer['message']}\");\n"
        "}"
    )
    update_python = (
        f"# On the server of {host}: never put the server key in a page.\n"
        "import json\n"
        "import urllib.error\n"
        "import urllib.request\n"
        "\n"
        f"SERVER_KEY = {py_str(key)}\n"
        "\n"
        "\n"
        "def update_order(order_id: str, **changes) -> dict:\n"
        "    request = urllib.request.Request(\n"
        f"        {py_str(update_url)},\n"
        '        data=json.dumps({"id": order_id, **changes}).encode(),\n'
        '        headers={"Content-Type": "application/json", "X-API-KEY": SERVER_KEY},\n'
        '        method="POST",\n'
        "    )\n"
        "    try:\n"
        "        with urllib.request.urlopen(request, timeout=10) as response:\n"
        "            return json.load(response)\n"
        "    except urllib.error.HTTPError as exc:\n"
        "        answer = json.load(exc)\n"
        "        raise RuntimeError(f\"{exc.code} {answer['code']}: {answer['message']}\") "
        "from None\n"
        "\n"
        "\n"
        f'print(update_order({py_str(oid)}, status="completed"))'
    )
    read_curl = (
        f"curl {sh_quote(read_url + '?id=' + quote(oid, safe=''))} \\\n"
        f"  -H {sh_quote('X-API-KEY: ' + key)}"
    )
    return ServerExamples(
        server_key=key,
        order_id=oid,
        domain=host,
        update_url=update_url,
        read_url=read_url,
        update_curl=update_curl,
        update_php=update_php,
        update_python=update_python,
        read_curl=read_curl,
    )


# --- Forms without code --------------------------------------------------------------------

# The fields of an event that has received nothing yet: what a lead form usually asks.
DEFAULT_FORM_FIELDS = ("name", "phone", "email", "comment")
MAX_FORM_FIELDS = 12
_EMAIL_NAMES = {"email", "e-mail", "mail", "почта", "эл. почта"}
_PHONE_NAMES = {"phone", "tel", "telephone", "телефон"}
_TEXT_NAMES = {"comment", "message", "text", "комментарий", "сообщение"}


@dataclass(frozen=True)
class FormExample:
    action_url: str
    next_url: str
    fields: list[str]
    snippet: str


def form_fields(seen: list[str]) -> list[str]:
    """The snippet's field names: those the event's records carry (controls, names starting
    with "_", left out), or the defaults when it has none yet."""
    names: list[str] = []
    for name in seen:
        if name and not name.startswith("_") and name not in names:
            names.append(name)
    return names[:MAX_FORM_FIELDS] or list(DEFAULT_FORM_FIELDS)


def _label(name: str) -> str:
    defaults = {
        "name": _("Name"),
        "phone": _("Phone"),
        "email": _("E-mail"),
        "comment": _("Comment"),
    }
    return defaults.get(name, name)


def _input(name: str) -> str:
    attr = html.escape(name, quote=True)
    lower = name.strip().lower()
    if lower in _TEXT_NAMES:
        return f'<textarea name="{attr}" rows="3"></textarea>'
    kind = "email" if lower in _EMAIL_NAMES else "tel" if lower in _PHONE_NAMES else "text"
    return f'<input type="{kind}" name="{attr}">'


def _comment(text: str) -> str:
    # "--" would end an HTML comment early.
    return "<!-- " + text.replace("--", "- -") + " -->"


def build_form_example(action_url: str, origin: str, fields: list[str]) -> FormExample:
    """A plain HTML form that posts to the event's form address, ready to paste."""
    next_url = origin + "/thanks"
    send = html.escape(_("Send"), quote=False)
    lines = [f'<form action="{html.escape(action_url, quote=True)}" method="post">']
    for name in fields:
        lines += [
            f"  <label>{html.escape(_label(name), quote=False)}<br>",
            f"    {_input(name)}",
            "  </label><br>",
        ]
    lines += [
        "  " + _comment(_("Anti-spam: hidden from people, bots fill it in. Keep it empty.")),
        '  <input type="text" name="_gotcha" tabindex="-1" autocomplete="off" '
        'style="display:none">',
        "  " + _comment(_("Where to send the visitor after the form is sent (optional).")),
        f'  <input type="hidden" name="_next" value="{html.escape(next_url, quote=True)}">',
        f'  <button type="submit">{send}</button>',
        "</form>",
    ]
    return FormExample(action_url, next_url, fields, "\n".join(lines))
