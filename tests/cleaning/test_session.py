"""Session settings that need no running Spark."""

from __future__ import annotations

import os

import pytest

from cleaning.session import _local_cores, s3a_conf
from yuqing.settings import S3Settings


@pytest.mark.parametrize(
    ("master", "cores"),
    [("local", 1), ("local[3]", 3), ("local[3,2]", 3), ("local[*]", os.cpu_count()), ("k8s://https://api:6443", None)],
)
def test_local_masters_are_recognised_with_their_threads(master, cores):
    assert _local_cores(master) == cores


def test_s3a_settings_follow_the_object_store_settings():
    conf = s3a_conf(
        S3Settings(endpoint_url="http://127.0.0.1:9000", access_key_id="key", secret_access_key="secret", addressing_style="path")
    )
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9000"
    assert conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    assert (conf["spark.hadoop.fs.s3a.access.key"], conf["spark.hadoop.fs.s3a.secret.key"]) == ("key", "secret")


def test_without_keys_s3a_uses_its_default_credential_chain():
    conf = s3a_conf(S3Settings(addressing_style="virtual"))
    assert "spark.hadoop.fs.s3a.access.key" not in conf and "spark.hadoop.fs.s3a.endpoint" not in conf
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "false"
