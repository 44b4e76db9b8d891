"""`GET /metrics`: the process's Prometheus metrics (scraped inside the cluster only)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from telemetry.metrics import exposition


def metrics_router() -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    return router
