"""Cost rows under one definition (salkd.papers.cost_claims): activation memory per output map for student and
teacher alike, dense-equivalent MACs, and the rows built from them."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from salkd import verdicts
from salkd.papers import cost_claims


class _Clip(nn.Module):
    """A 'teacher' giving one map per frame of a clip: (1, 3, T, H, W) -> (1, T, H, W)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)


def test_activation_memory_is_per_output_map():
    x = (torch.rand(1, 3, 4, 8, 8),)
    whole = cost_claims.activation_mb(_Clip(), x, 1)
    assert cost_claims.activation_mb(_Clip(), x, 4) == pytest.approx(whole / 4)
    # the input (3 x 4 x 8 x 8 floats) and the output (4 x 8 x 8) are live at the peak
    assert whole * 2**20 >= (3 * 4 * 64 + 4 * 64) * 4


def test_dense_macs_of_a_depthwise_convolution_by_hand():
    c, h = 8, 6
    net = nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False)
    actual, dense = cost_claims.dense_macs(net, (torch.rand(1, c, h, h),))
    assert actual == h * h * c * 9 and dense == h * h * c * c * 9


def test_order_of_magnitude_and_scaling_rows_on_the_deployed_student():
    rows = cost_claims.order_of_magnitude_rows()
    assert [r["verdict"] in (verdicts.REPRODUCED, verdicts.NOT_REPRODUCED) for r in rows] == [True] * 3
    res_ratio = float(rows[0]["ours"].split("x")[0])
    assert res_ratio == pytest.approx((cost_claims.TEACHER_RES / 64) ** 2, rel=0.25)    # a conv net: ~ pixel count
    row = cost_claims.memory_scaling_row("uvanet", "Fig. 7", "uva_st", {32: 0.68, 64: 2.73}, (32, 64))
    assert row["claim"] == "uva_st: activation memory grows with the input's pixel count (Fig. 7)"
    assert "slope 2.01" in row["paper_value"] and cost_claims.DEFINITION in row["note"]
