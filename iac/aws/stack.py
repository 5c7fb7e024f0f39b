"""Deployment chores around the SAM stack that CloudFormation does not do itself.

    python iac/aws/stack.py publish-portal STACK   upload portal_static/ + config.js, invalidate
    python iac/aws/stack.py empty-portal STACK     delete every object version (before delete)
    python iac/aws/stack.py save-outputs STACK     keep the outputs (run before deleting)
    python iac/aws/stack.py purge-data STACK       after deletion: delete the retained table,
                                                   schedule deletion of the retained key
    python iac/aws/stack.py outputs STACK          print the stack outputs

Uses boto3 and your normal AWS credentials (profile or environment); ``make deploy-aws``
and ``make destroy-aws`` call it.
"""

from __future__ import annotations

import json
import mimetypes
import sys
import time
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal_static"
SAVED = ROOT / "build" / "aws"


def outputs(stack: str) -> dict[str, str]:
    desc = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in desc.get("Outputs", [])}


def publish_portal(stack: str) -> None:
    out = outputs(stack)
    s3 = boto3.client("s3")
    bucket = out["PortalBucketName"]
    config = {"managementUrl": out["PortalUrl"], "gatewayUrl": out["GatewayUrl"]}
    files: list[tuple[str, bytes, str]] = []
    for path in sorted(PORTAL.rglob("*")):
        if path.is_file():
            key = path.relative_to(PORTAL).as_posix()
            kind = mimetypes.guess_type(key)[0] or "application/octet-stream"
            files.append((key, path.read_bytes(), kind))
    config_js = f"window.TOLLWAY = {json.dumps(config)};\n".encode()
    files.append(("config.js", config_js, "text/javascript"))
    for key, body, content_type in files:
        # HTML and config change with every deploy; everything else may be cached briefly.
        fresh = key.endswith(".html") or key == "config.js"
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=body,
            ContentType=content_type,
            CacheControl="no-cache" if fresh else "public, max-age=300",
        )
        print(f"  s3://{bucket}/{key}")
    boto3.client("cloudfront").create_invalidation(
        DistributionId=out["PortalDistributionId"],
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": str(time.time()),
        },
    )
    print(f"portal: {out['PortalUrl']}")


def empty_portal(stack: str) -> None:
    try:
        bucket = outputs(stack)["PortalBucketName"]
    except Exception as exc:  # stack already gone: nothing to empty
        print(f"portal bucket not found ({exc}); nothing to empty")
        return
    boto3.resource("s3").Bucket(bucket).object_versions.delete()
    print(f"emptied s3://{bucket}")


def save_outputs(stack: str) -> None:
    SAVED.mkdir(parents=True, exist_ok=True)
    (SAVED / f"{stack}.outputs.json").write_text(json.dumps(outputs(stack), indent=2))


def purge_data(stack: str) -> None:
    """After the stack is deleted: the table and its key were retained on purpose."""
    saved = json.loads((SAVED / f"{stack}.outputs.json").read_text())
    ddb = boto3.client("dynamodb")
    table = saved["TableName"]
    try:
        ddb.update_table(TableName=table, DeletionProtectionEnabled=False)
        ddb.get_waiter("table_exists").wait(TableName=table)
        ddb.delete_table(TableName=table)
        print(f"deleted table {table} (DynamoDB keeps a PITR system backup for 35 days)")
    except ddb.exceptions.ResourceNotFoundException:
        print(f"table {table} not found")
    kms = boto3.client("kms")
    kms.schedule_key_deletion(KeyId=saved["DataKeyArn"], PendingWindowInDays=7)
    print(f"key {saved['DataKeyArn']} scheduled for deletion in 7 days")


def main(argv: list[str]) -> int:
    commands: dict[str, Any] = {
        "publish-portal": publish_portal,
        "empty-portal": empty_portal,
        "save-outputs": save_outputs,
        "purge-data": purge_data,
        "outputs": lambda stack: print(json.dumps(outputs(stack), indent=2)),
    }
    if len(argv) < 2 or argv[0] not in commands:
        print(__doc__)
        return 2
    commands[argv[0]](*argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
