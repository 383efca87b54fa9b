"""`python -m benchmarks torch_throughput -- --peer actionformer`: ActionFormer matched to admfit's base model as the
speed anchor. The matched models and a one-step timed epoch need the peer extra (pip install 'admfit[peer]') and
skip without it; the refusal where the extra is missing runs everywhere."""
from __future__ import annotations

import sys

import pytest

from admfit_torch.config import preset

TINY = dict(preset="cpu-small", length=20, classes=3, batch=2)  # 20 snippets: matched up to ActionFormer's 32


def test_without_the_extra_the_peer_option_says_how_to_get_it(monkeypatch, capsys):
    from benchmarks.__main__ import main

    monkeypatch.setitem(sys.modules, "actionformer", None)  # as where the package is not installed
    assert main(["torch_throughput", "--", "--peer", "actionformer", "--size", "cpu"]) == 2
    captured = capsys.readouterr()
    assert captured.out.strip() == "== torch_throughput"
    assert captured.err.strip().splitlines() == [
        "error: torch_throughput --peer actionformer needs the ActionFormer package: pip install 'admfit[peer]'"]


def test_the_mapping_takes_admfit_preset_sizes_and_a_length_actionformer_accepts():
    from benchmarks.torch_throughput import actionformer_setting, actionformer_stride, matched_length

    thumos = preset("thumos14")
    setting, unmatched = actionformer_setting(thumos.model, thumos.optim, 20, 2304, 3)
    model = setting["model"]
    assert model["backbone_arch"] == [2, 2, 3] and model["scale_factor"] == 2 and model["n_mha_win_size"] == 19
    assert model["embd_dim"] == model["fpn_dim"] == model["head_dim"] == 512 and model["n_head"] == 4
    assert model["regression_range"] == [[0, 4], [4, 8], [8, 16], [16, 10000]]
    assert setting["dataset"] == {**setting["dataset"], "input_dim": 2048, "num_classes": 20, "max_seq_len": 2304}
    assert setting["train_cfg"]["clip_grad_l2norm"] == -1 and not any("MLP" in line for line in unmatched)
    # ActionFormer's check: every level's stride times the window's span divides max_seq_len (8 * 18 on level 3)
    assert actionformer_stride(thumos.model) == 144 and matched_length(thumos.model, 2304) == 2304
    assert matched_length(preset("cpu-small").model, 20) == 32  # window 9 on 3 levels: 4 * 8
    wide = preset("cpu-small", model={"mlp_ratio": 2})
    assert "mlp_ratio is 2" in actionformer_setting(wide.model, wide.optim, 3, 32, 2)[1][0]


@pytest.fixture(scope="module")
def matched():
    pytest.importorskip("actionformer", reason="needs the peer extra: pip install 'admfit[peer]'")
    import torch

    from benchmarks.torch_throughput import peer_workloads

    return peer_workloads("tiny", torch.device("cpu"), quick=True, spec=TINY)


def test_the_matched_actionformer_has_admfit_widths_levels_and_window(matched):
    admfit, peer = matched
    cfg = admfit.cfg.model
    ours, theirs = admfit.trainer.parts.model, peer.model
    assert admfit.spec["length"] == peer.config["dataset"]["max_seq_len"] == 32 and admfit.cfg.data.input_length == 32
    assert len(theirs.backbone.embd) == len(ours.backbone.embed.convs) == cfg.embed_convs
    assert [c.conv.out_channels for c in theirs.backbone.embd] == [c.out_channels for c in ours.backbone.embed.convs]
    assert theirs.backbone.embd[0].conv.in_channels == ours.backbone.embed.convs[0].in_channels == cfg.input_dim
    assert len(theirs.backbone.stem) == len(ours.backbone.stem) == cfg.stem_blocks
    assert len(theirs.backbone.branch) + 1 == len(ours.backbone.pyramid) + 1 == cfg.levels == len(theirs.fpn_strides)
    assert theirs.fpn_strides == [cfg.theta ** level for level in range(cfg.levels)]
    blocks = [*theirs.backbone.stem, *theirs.backbone.branch]
    assert {block.attn.window_size for block in blocks} == {ours.backbone.stem[0].attn.window} == {cfg.window}
    assert {block.attn.n_head for block in blocks} == {ours.backbone.stem[0].attn.num_heads}
    assert {block.attn.n_embd for block in blocks} == {cfg.embed_dim}
    head = theirs.cls_head
    assert len(head.head) == len(ours.head.hidden) == cfg.head_convs
    assert head.cls_head.conv.in_channels == ours.head.out.in_channels == cfg.embed_dim
    assert head.cls_head.conv.out_channels == ours.head.out.out_channels - 1 == 3  # admfit's last: background
    assert head.cls_head.conv.kernel_size == ours.head.out.kernel_size
    video = peer.videos[0]  # the same random videos, as ActionFormer's datasets give them
    assert tuple(video["feats"].shape) == (cfg.input_dim, 32) and video["video_id"] == admfit.items[0].video


def test_one_timed_epoch_of_each_gives_the_ratio_and_the_parameter_counts(matched, capsys):
    from benchmarks.torch_throughput import _peer_lines, race

    admfit, peer = matched
    row = race("tiny", admfit, peer, rounds=1)
    assert row["steps_per_epoch"] == 1 and [len(r) for r in row["rounds_s"].values()] == [1, 1]
    assert row["actionformer_over_admfit"] == pytest.approx(row["actionformer_s_per_epoch"] / row["admfit_s_per_epoch"])
    assert row["admfit_at_least_as_fast"] == (row["actionformer_over_admfit"] >= 1.0)
    assert row["admfit_parameters"] == sum(p.numel() for p in admfit.trainer.parts.model.parameters())
    assert row["actionformer_parameters"] == sum(p.numel() for p in peer.model.parameters())
    assert row["T"] == 32 and row["batch"] == 2
    lines = _peer_lines(row)
    assert len(lines) == 4 and "ActionFormer / admfit" in lines[3] and f"{row['admfit_parameters']:,}" in lines[1]
