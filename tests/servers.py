"""Real HTTP servers on 127.0.0.1 port 0 for tests: a feed/page server and a fake Telegram Bot API."""

from __future__ import annotations

import html.parser
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Route:
    """What the content server answers on one path."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    etag: str | None = None  # answer 304 when the client sends it back
    # "reset": close the connection without answering; "drip": send the body a byte at a time,
    # `delay` seconds apart; "short": promise more bytes than are sent, then close.
    behaviour: str | None = None


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default backlog of 5 drops concurrent connects for a second
    daemon_threads = True


class ContentServer:
    """Serves feeds and pages by path; records every request path."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.arrivals: list[tuple[str, str, float]] = []  # (host header, path, monotonic time)
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str) -> str:
        """Return the absolute URL of `path` on this server."""
        return self.base + path

    def add(
        self, path: str, body: bytes | str, content_type: str = "application/rss+xml", **kw: Any
    ) -> str:
        """Serve `body` at `path`; return its URL."""
        data = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": content_type, **kw.pop("headers", {})}
        self.routes[path] = Route(body=data, headers=headers, **kw)
        return self.url(path)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                server.arrivals.append((self.headers.get("Host", ""), self.path, time.monotonic()))
                route = server.routes.get(self.path) or server.routes.get(urlsplit(self.path).path)
                if route is None:
                    self.send_error(404)
                    return
                if route.behaviour == "reset":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if route.delay and route.behaviour != "drip":
                    time.sleep(route.delay)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.etag:
                    self.send_header("ETag", route.etag)
                _write_body(self, route)

        return Handler

    def __enter__(self) -> ContentServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _write_body(handler: BaseHTTPRequestHandler, route: Route) -> None:
    """Send the body as the route says: whole, dripped a byte at a time, or cut short."""
    promised = len(route.body) * (10 if route.behaviour == "short" else 1)
    handler.send_header("Content-Length", str(promised))
    handler.end_headers()
    with suppress(BrokenPipeError, ConnectionResetError):
        if route.behaviour == "drip":
            for byte in route.body:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(route.delay)
        else:
            handler.wfile.write(route.body)
    if route.behaviour == "short":
        handler.close_connection = True


# Telegram's HTML parse mode: these tags only, `href` only on <a>, properly nested.
TELEGRAM_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip


class _TelegramHTML(html.parser.HTMLParser):
    """Validate text the way Telegram does and collect the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.visible: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.error = self.error or f'Unsupported start tag "{tag}"'
        if tag == "a" and [name for name, _ in attrs] != ["href"]:
            self.error = self.error or "Can't parse entities: <a> needs exactly one href"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.error = self.error or f'Unexpected end tag "{tag}"'

    def handle_data(self, data: str) -> None:
        self.visible.append(data)


def check_telegram_html(text: str) -> tuple[str | None, str]:
    """Return (error or None, visible text) for a message in Telegram's HTML parse mode."""
    if re.search(r"&(?!(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", text):
        return "Can't parse entities: unsupported entity or bare '&'", text
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.stack and parser.error is None:
        parser.error = f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
    return parser.error, "".join(parser.visible)


NOT_FOUND: tuple[int, dict[str, Any]] = (
    400,
    {"ok": False, "error_code": 400, "description": "Bad Request: message to edit not found"},
)


class FakeTelegram:
    """A Bot API that enforces what Telegram enforces, on 127.0.0.1 port 0.

    It answers getMe, sendMessage and editMessageText for one token; requires form-encoded
    bodies; rejects unknown chats, over-long text (UTF-16 units) and HTML Telegram would refuse.
    Set `hang` to make sendMessage block (a crash test), `retry_after` to answer 429 once.
    """

    def __init__(self, token: str, chats: set[str] | None = None) -> None:
        self.token = token
        self.chats = chats
        self.messages: list[dict[str, str]] = []
        self.errors: list[str] = []
        self.calls: list[str] = []
        self.hang = threading.Event()
        self.retry_after: int | None = None
        self.blocked: set[str] = set()  # chats that blocked the bot: 403
        self.migrated: dict[str, str] = {}  # group id -> supergroup id: 400 migrate_to_chat_id
        self.chat_interval = 0.0  # minimum seconds between two messages to one chat, else 429
        # at most this many messages to one chat within this many seconds, else 429 (Telegram
        # counts per minute in groups; a window is blind to the jitter a loaded machine adds)
        self.chat_window: tuple[int, float] | None = None
        self._sent_in_chat: dict[str, list[float]] = {}
        self.garbage = False  # answer sendMessage with a body that is not JSON
        self.updates_answer: dict[str, Any] | None = None  # answer getUpdates with this instead
        self.usernames: dict[str, int] = {}  # public chats getChat knows: @name -> id
        self.bad_gateway = False  # answer every call but getMe 502 with a proxy's HTML page
        self.delay = 0.0  # seconds each sendMessage takes (a crash test kills the client meanwhile)
        # seconds the next sendMessages spend on the way before they count as arrived (a slow
        # network path for one request lets a later, faster one arrive too soon after it)
        self.lags: list[float] = []
        self.rate_violations = 0
        self.retry_afters = 0  # 429s answered because `retry_after` was set
        self.edits: list[dict[str, str]] = []
        self.toasts: list[dict[str, str]] = []  # answerCallbackQuery calls
        self.markups: list[dict[str, str]] = []  # editMessageReplyMarkup calls
        self._updates_queue: list[dict[str, Any]] = []
        self._update_ready = threading.Event()
        self.polled_updates = threading.Event()  # the bot has asked for updates at least once
        self._last_in_chat: dict[str, float] = {}
        self.received = threading.Event()
        self._release = threading.Event()
        self._next_id = 100
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _answer(self, method: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.calls.append(method)
        if method in ("getMe", "deleteWebhook", "setMyCommands", "getUpdates"):
            return self._bot_method(method, form)
        if method == "getChat":
            return self._get_chat(form.get("chat_id", ""))
        if method == "answerCallbackQuery":
            if len(form.get("text", "")) > 200:
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: text is too long",
                }
            self.toasts.append(form)
            return 200, {"ok": True, "result": True}
        if method == "editMessageReplyMarkup":
            return self._edit_markup(form)
        if method not in ("sendMessage", "editMessageText"):
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return self._message(method, form)

    def _bot_method(self, method: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if method == "getMe":
            return 200, {
                "ok": True,
                "result": {
                    "id": 1,
                    "is_bot": True,
                    "first_name": "Monitor",
                    "username": "monitor_bot",
                },
            }
        if method == "getUpdates":
            if self.updates_answer is not None:
                return 200, self.updates_answer
            if self.hang.is_set():  # a long poll that never ends
                self._release.wait(60)
                return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
            return self._updates(form)
        return 200, {"ok": True, "result": True}

    def _get_chat(self, chat_id: str) -> tuple[int, dict[str, Any]]:
        """Answer getChat for a public chat's @name, as Telegram does."""
        found = next(
            (i for name, i in self.usernames.items() if name.lower() == chat_id.lower()), None
        )
        if found is None:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: chat not found",
            }
        return 200, {
            "ok": True,
            "result": {
                "id": found,
                "type": "supergroup",
                "title": "Public chat",
                "username": chat_id.lstrip("@"),
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            },
        }

    def _message(self, method: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        chat_id = form.get("chat_id", "")
        if method == "sendMessage" and self.lags:
            time.sleep(self.lags.pop(0))
        refused = self._refuse(chat_id)
        if refused is not None:
            return refused
        refused_text, visible = self._check_text(form)
        if refused_text is not None:
            return refused_text
        if method == "editMessageText":
            return self._edit(chat_id, form, visible)
        if method == "sendMessage" and self.delay:
            time.sleep(self.delay)
        if method == "sendMessage" and self.hang.is_set():
            self.received.set()
            self._release.wait(60)
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
            reply = json.loads(form.get("reply_parameters", "null")) or {}
            if reply and not any(
                m["chat_id"] == chat_id and m["message_id"] == str(reply.get("message_id"))
                for m in self.messages
            ):
                if not reply.get("allow_sending_without_reply"):
                    return 400, {
                        "ok": False,
                        "error_code": 400,
                        "description": "Bad Request: message to be replied not found",
                    }
                reply = {}
            self.messages.append(
                {
                    **form,
                    "message_id": str(message_id),
                    "visible": visible,
                    "reply_to": str(reply.get("message_id", "")),
                }
            )
        self.received.set()
        return 200, {
            "ok": True,
            "result": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {
                    "id": int(chat_id) if chat_id.lstrip("-").isdigit() else 0,
                    "type": "group",
                },
                "text": visible,
            },
        }

    def send_update(
        self,
        chat_id: str,
        text: str,
        chat_type: str = "group",
        reply_to: str | None = None,
        user_id: int = 777,
        kind: str = "message",
        thread: int | None = None,
        username: str | None = None,
    ) -> int:
        """Queue a message from a user in `chat_id` for the bot's getUpdates; return its id.

        `kind` is the update's field: message, edited_message, channel_post...; `thread` a
        forum topic the message was written in.
        """
        with self._lock:
            self._next_id += 1
            message_id = self._next_id
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": int(chat_id), "type": chat_type, "title": "Chat"},
                "from": {"id": user_id, "is_bot": False, "first_name": "Analyst"},
                "text": text,
            }
            if username is not None:
                message["from"]["username"] = username
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
            if thread is not None:
                message["chat"].update(type="supergroup", is_forum=True)
                message.update(message_thread_id=thread, is_topic_message=True)
            if reply_to is not None:
                original = next(
                    (m for m in self.messages if m["message_id"] == reply_to), {"text": ""}
                )
                message["reply_to_message"] = {
                    "message_id": int(reply_to),
                    "date": int(time.time()),
                    "chat": message["chat"],
                    "from": {"id": 1, "is_bot": True, "first_name": "Monitor"},
                    "text": original.get("visible", ""),
                }
        self.send_raw_update({kind: message})
        return message_id

    def tap(self, chat_id: str, message_id: str, data: str, user_id: int = 777) -> int:
        """Queue a tap by user `user_id` on a button under message `message_id` in `chat_id`."""
        message = next(
            (m for m in self.messages if m["chat_id"] == chat_id and m["message_id"] == message_id),
            {"visible": ""},
        )
        query = {
            "id": f"q{time.monotonic_ns()}",
            "from": {"id": user_id, "is_bot": False, "first_name": "Analyst", "username": "ana"},
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": int(message_id),
                "date": int(time.time()),
                "chat": {"id": int(chat_id), "type": "supergroup", "title": "Chat"},
                "from": {"id": 1, "is_bot": True, "first_name": "Monitor"},
                "text": message.get("visible", ""),
            },
        }
        return self.send_raw_update({"callback_query": query})

    def _edit_markup(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            target = self._sent(form.get("chat_id", ""), form.get("message_id"))
            if target is None:
                return NOT_FOUND
            if target.get("reply_markup") == form.get("reply_markup"):
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message is not modified",
                }
            target["reply_markup"] = form.get("reply_markup", "")
            self.markups.append(form)
        return 200, {"ok": True, "result": True}

    def send_raw_update(self, update: dict[str, Any]) -> int:
        """Queue any update body (numbered here) for the bot's getUpdates; return its number."""
        with self._lock:
            update_id = len(self._updates_queue) + 1
            self._updates_queue.append({"update_id": update_id, **update})
            self._update_ready.set()
        return update_id

    def replies_to(self, chat_id: str) -> list[str]:
        """Return the visible text of every message the bot sent to `chat_id`."""
        with self._lock:
            return [m["visible"] for m in self.messages if m["chat_id"] == chat_id]

    def _updates(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer getUpdates: updates after `offset`, waiting up to `timeout` (at most 1 s)."""
        offset = int(form.get("offset", "0") or 0)
        deadline = time.monotonic() + min(float(form.get("timeout", "0") or 0), 1.0)
        while True:
            with self._lock:
                pending = [u for u in self._updates_queue if u["update_id"] >= offset]
                self._update_ready.clear()
            if pending or time.monotonic() >= deadline:
                self.polled_updates.set()
                return 200, {"ok": True, "result": pending}
            self._update_ready.wait(max(0.0, deadline - time.monotonic()))

    def _check_text(self, form: dict[str, str]) -> tuple[tuple[int, dict[str, Any]] | None, str]:
        """Refuse text Telegram would refuse: bad HTML, empty, over 4096 UTF-16 units."""
        text = form.get("text", "")
        if form.get("parse_mode") == "HTML":
            error, visible = check_telegram_html(text)
            if error:
                self.errors.append(error)
                return (
                    400,
                    {"ok": False, "error_code": 400, "description": f"Bad Request: {error}"},
                ), ""
        else:
            visible = text
        if not visible.strip():
            return (
                400,
                {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message text is empty",
                },
            ), ""
        if len(visible.encode("utf-16-le")) // 2 > 4096:
            self.errors.append("too long")
            return (
                400,
                {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"},
            ), ""
        return None, visible

    def _refuse(self, chat_id: str) -> tuple[int, dict[str, Any]] | None:
        """Answer as Telegram does for a 429, blocked, migrated, unknown or too busy chats."""
        if self.retry_after is not None:
            seconds, self.retry_after = self.retry_after, None
            self.retry_afters += 1
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {seconds}",
                "parameters": {"retry_after": seconds},
            }
        if chat_id in self.blocked:
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        if chat_id in self.migrated:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: group chat was upgraded to a supergroup chat",
                "parameters": {"migrate_to_chat_id": int(self.migrated[chat_id])},
            }
        if self.chats is not None and chat_id not in self.chats:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: chat not found",
            }
        with self._lock:
            now = time.monotonic()
            last = self._last_in_chat.get(chat_id)
            recent = self._sent_in_chat.setdefault(chat_id, [])
            if self.chat_window is not None:
                recent[:] = [t for t in recent if now - t < self.chat_window[1]]
            too_many = self.chat_window is not None and len(recent) >= self.chat_window[0]
            if too_many or (last is not None and now - last < self.chat_interval):
                self.rate_violations += 1
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                }
            self._last_in_chat[chat_id] = now
            recent.append(now)
        return None

    def _sent(self, chat_id: str, message_id: str | None) -> dict[str, str] | None:
        """The message the bot sent as `message_id` to `chat_id`, if any (lock held)."""
        return next(
            (m for m in self.messages if m["chat_id"] == chat_id and m["message_id"] == message_id),
            None,
        )

    def _edit(self, chat_id: str, form: dict[str, str], visible: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            target = self._sent(chat_id, form.get("message_id"))
            if target is None:
                return NOT_FOUND
            if target["text"] == form.get("text"):
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message is not modified: specified new message"
                    " content and reply markup are exactly the same as a current content and"
                    " reply markup of the message",
                }
            target.update(text=form.get("text", ""), visible=visible)
            self.edits.append(dict(form))
        return 200, {
            "ok": True,
            "result": {
                "message_id": int(target["message_id"]),
                "date": int(time.time()),
                "chat": {
                    "id": int(chat_id) if chat_id.lstrip("-").isdigit() else 0,
                    "type": "group",
                },
                "text": visible,
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                match = re.fullmatch(r"/bot([^/]+)/(\w+)", path)
                if match is None or match.group(1) != fake.token:
                    self._send(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                    return
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                ctype = self.headers.get("Content-Type", "")
                if raw and not ctype.startswith("application/x-www-form-urlencoded"):
                    fake.errors.append(f"unexpected content type {ctype}")
                    self._send(
                        400,
                        {
                            "ok": False,
                            "error_code": 400,
                            "description": "Bad Request: expected a form",
                        },
                    )
                    return
                form = {key: values[0] for key, values in parse_qs(raw).items()}
                if fake.bad_gateway and match.group(2) != "getMe":
                    self._send_raw(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
                    return
                if fake.garbage and match.group(2) == "sendMessage":
                    self._send_raw(200, b"<html>502 upstream says hello</html>")
                    return
                status, payload = fake._answer(match.group(2), form)
                self._send(status, payload)

            do_GET = do_POST

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                self._send_raw(status, json.dumps(payload).encode())

            def _send_raw(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

        return Handler

    def release_hung(self) -> None:
        """Answer (500) every request that `hang` holds; later hangs hold again."""
        self._release.set()
        self._release.clear()

    def __enter__(self) -> FakeTelegram:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def serving(*servers: ContentServer | FakeTelegram) -> Iterator[None]:
    """Run several servers for the duration of a block."""
    for server in servers:
        server.__enter__()
    try:
        yield
    finally:
        for server in servers:
            server.__exit__(None, None, None)
