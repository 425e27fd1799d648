"""The HTTP API (``/api/v1``): FastAPI over the same use cases and permission checks as
the bot, served by the bot's one web server (``bot.web``) when ``API_ENABLED`` (or an
``API_PORT``) is set.
"""
