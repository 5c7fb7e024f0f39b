"""Contract backend: DynamoDB emulated in-process by moto (``mock_aws``).

Not CONCURRENT: moto's in-process DynamoDB reads an item, checks the condition and writes it
back with no lock, so threads that interleave inside it can both pass a condition. Measured:
64 threads racing a conditional ``ADD`` with ``sys.setswitchinterval(1e-6)`` admitted 102-108
of a ceiling of 100. The exactly-N concurrency tests run against ``dynamodb-server``.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import boto3
from botocore.config import Config
from moto import mock_aws

from shared.adapters.dynamodb import DynamoStore, create_table
from shared.core.clock import Clock

NAME = "dynamodb-moto"
CONCURRENT = False
TABLE = "tollway-contract"


@contextmanager
def make(clock: Clock, tmp_path) -> Iterator[DynamoStore]:
    with mock_aws():  # fake credentials for its duration; region given explicitly below
        client = boto3.session.Session().client(
            "dynamodb",
            region_name="us-east-1",
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )
        try:
            create_table(client, TABLE)
            yield DynamoStore(TABLE, client, clock)
        finally:
            client.close()
