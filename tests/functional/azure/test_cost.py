"""The Azure cost model reads main.bicep and the real output, and adds only priced lines."""

from __future__ import annotations

import argparse

from bench import cost_azure


def args(**kw):
    base = {"upstream_ms": 50.0, "gateway_cpu_ms": 4.0, "overlap": 1.0,
            "millions_per_month": 100.0}
    return argparse.Namespace(**{**base, **kw})


def test_the_total_is_the_sum_of_the_priced_lines(capsys):
    rows, _ = cost_azure.lines(args())
    priced = [r[2] for r in rows if r[2] is not None]
    assert priced and cost_azure.total(rows) == sum(priced)
    # A line without a cited price is shown, never guessed.
    assert any(r[2] is None for r in rows)
    assert cost_azure.main([]) == 0
    out = capsys.readouterr().out
    assert f"${cost_azure.total(rows):.2f}" in out and "n/a" in out


def test_the_settings_come_from_the_bicep():
    s = cost_azure.settings()
    text = cost_azure.BICEP.read_text()
    assert f"param gatewayInstanceMemoryMB int = {s.gateway_memory_mb}" in text
    assert f"param gatewayAlwaysReady int = {s.gateway_always_ready}" in text


def test_changing_the_gateway_memory_changes_the_gb_s_line(tmp_path):
    text = cost_azure.BICEP.read_text()
    memory = cost_azure.settings().gateway_memory_mb
    half = tmp_path / "main.bicep"
    half.write_text(text.replace(f"param gatewayInstanceMemoryMB int = {memory}",
                                 f"param gatewayInstanceMemoryMB int = {memory // 2}"))
    line = {r[0]: r for r in cost_azure.lines(args())[0]}["gateway execution time"]
    halved = {r[0]: r for r in cost_azure.lines(args(), half)[0]}["gateway execution time"]
    assert halved[2] is not None and line[2] is not None
    assert abs(halved[2] - line[2] / 2) < 1e-9
    assert f"{memory // 2} MB" in halved[1]


def test_the_byte_counts_are_measured():
    assert 80 < cost_azure.metrics_line_bytes("gateway") < 300
    assert 300 < cost_azure.usage_message_bytes() < 700
