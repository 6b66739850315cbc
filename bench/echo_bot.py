"""The yardstick for the ingest benchmark: a bare python-telegram-bot echo bot.

A PTB `Application` built with `updater(None)` behind the same kind of aiohttp webhook
as ours (secret header checked, `Update.de_json`, answered 200 once the update is
handled, as our webhook does), replying through the same fake Bot API: a text gets
its echo, a button press gets `answerCallbackQuery` and a message. No database.

    python bench/echo_bot.py --port 18302 --api http://127.0.0.1:18303 --secret S
"""

from __future__ import annotations

import argparse
import hmac

from aiohttp import web
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

TOKEN = "123:ABC"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say the text back."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop the button's spinner and say which button it was."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await query.answer()
    await update.effective_chat.send_message(f"Bạn đã chọn {query.data}")


def build(api: str, secret: str) -> tuple[Application, web.Application]:  # type: ignore[type-arg]
    """The PTB application and the aiohttp webhook that feeds it."""
    application = (
        Application.builder().token(TOKEN).base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot").connection_pool_size(32).updater(None).build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(pressed))

    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, secret.encode()):
            return web.Response(status=401, text="unauthorized")
        update = Update.de_json(await request.json(), application.bot)
        await application.process_update(update)
        return web.Response(text="ok")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def lifecycle(app: web.Application) -> object:
        async with application:
            await application.start()
            yield
            await application.stop()

    app = web.Application()
    app.router.add_post("/telegram/webhook", webhook)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(lifecycle)
    return application, app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api", required=True, help="the fake Bot API root")
    parser.add_argument("--secret", required=True)
    options = parser.parse_args()
    _, app = build(options.api, options.secret)
    web.run_app(app, host="127.0.0.1", port=options.port, print=None, access_log=None)
