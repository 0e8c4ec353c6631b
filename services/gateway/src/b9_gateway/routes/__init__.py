"""Routers of /api/v1 (all behind the API key) plus the open and session routers."""

from b9_gateway.routes import (
    alerts,
    categorization,
    creators,
    dlq,
    events,
    history,
    insights,
    media,
    models,
    overview,
    posts,
    reels,
    replays,
    requests,
    scrapers,
    subreddits,
    users,
)

ROUTERS = [
    overview.router,
    subreddits.router,
    posts.router,
    users.router,
    creators.router,
    reels.router,
    models.router,
    history.router,
    scrapers.router,
    categorization.router,
    dlq.router,
    replays.router,
    requests.router,
    events.router,
    alerts.router,
    insights.router,
]
MEDIA_ROUTER = media.router
