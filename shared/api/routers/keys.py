"""A developer's API keys. The plaintext appears once, in the create/rotate response."""

from datetime import UTC, datetime

from fastapi import APIRouter

from shared.api.deps import Ctx, CurrentDeveloper, Paging, VerifiedDeveloper, encode_cursor
from shared.api.errors import responses
from shared.api.schemas import KeyCreatedOut, KeyCreateIn, KeyOut, Page, RotatedOut, RotateIn
from shared.core.models import KeyRecord
from shared.management import apikeys, usage

router = APIRouter(prefix="/v1/me/keys", tags=["keys"])


def _out(ctx: Ctx, key: KeyRecord, last_used: dict[str, float] | None = None) -> KeyOut:
    return KeyOut.of(key, apikeys.effective_state(key, ctx.clock.now()),
                     (last_used or {}).get(key.id))


def _last_used(ctx: Ctx, consumer_id: str) -> dict[str, float]:
    """Key id -> its last hour of use, from the consumer's metered usage (one read)."""
    today = datetime.fromtimestamp(ctx.clock.now(), UTC).date()
    return usage.last_used(ctx.store, consumer_id, today)


def _created(ctx: Ctx, issued: apikeys.Issued) -> dict[str, object]:
    return {**_out(ctx, issued.record).model_dump(), "key": issued.plaintext}


@router.get("", summary="List my keys (hints only)")
def list_keys(dev: CurrentDeveloper, ctx: Ctx, paging: Paging) -> Page[KeyOut]:
    keys, nxt = apikeys.list_page(ctx.store, dev.consumer_id, limit=paging.limit,
                                  after=paging.after)
    used = _last_used(ctx, dev.consumer_id) if keys else {}
    return Page[KeyOut](items=[_out(ctx, k, used) for k in keys],
                        next_cursor=encode_cursor(nxt))


@router.post("", status_code=201, summary="Create a key (shown once)",
             responses=responses(403, 409))
def create_key(body: KeyCreateIn, dev: VerifiedDeveloper, ctx: Ctx) -> KeyCreatedOut:
    issued = apikeys.create(
        ctx.store, ctx.clock, dev.actor, dev.consumer_id, prefix=ctx.settings.key_prefix,
        cap=ctx.settings.max_keys_per_consumer, name=body.name,
        expires_in_days=body.expires_in_days,
    )
    return KeyCreatedOut.model_validate(_created(ctx, issued))


@router.get("/{key_id}", summary="One of my keys", responses=responses(404))
def get_key(key_id: str, dev: CurrentDeveloper, ctx: Ctx) -> KeyOut:
    key = apikeys.get(ctx.store, dev.consumer_id, key_id)
    return _out(ctx, key, _last_used(ctx, dev.consumer_id))


@router.post("/{key_id}/rotate", status_code=201, summary="Rotate a key with a grace period",
             responses=responses(403, 404, 409))
def rotate_key(key_id: str, dev: VerifiedDeveloper, ctx: Ctx,
               body: RotateIn | None = None) -> RotatedOut:
    """A new key replaces this one; both work until the grace period ends."""
    body = body or RotateIn()
    new, old = apikeys.rotate(
        ctx.store, ctx.clock, dev.actor, dev.consumer_id, key_id,
        prefix=ctx.settings.key_prefix, cap=ctx.settings.max_keys_per_consumer,
        grace_seconds=body.grace_seconds,
    )
    return RotatedOut.model_validate({**_created(ctx, new), "previous": _out(ctx, old)})


@router.delete("/{key_id}", summary="Revoke a key now", responses=responses(404))
def revoke_key(key_id: str, dev: CurrentDeveloper, ctx: Ctx) -> KeyOut:
    """Revoked in the store at once; gateways stop accepting it within their cache TTL."""
    return _out(ctx, apikeys.revoke(ctx.store, ctx.clock, dev.actor, dev.consumer_id, key_id))
