"""Liveness: answers without touching the store."""

from fastapi import APIRouter

from shared.api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness check")
def healthz() -> Health:
    return Health(status="ok")
