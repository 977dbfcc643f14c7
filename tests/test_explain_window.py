"""The sliding-window animation reproduces the layer's real output, frame by frame.

Conv and avg-pool frames are recomputed in float64 from the float32 values; PyTorch sums in
float32 in another order, so they agree to 1e-5 of the sum of the absolute terms. Max-pool
frames pick an input value, so they agree exactly, and at PyTorch's own argmax.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from convviz.design import load_template
from convviz.explain import ExplainError, WindowAnimation, feature_maps, network_from_design, window_animation
from convviz.explain.render import render_window_frame, save_animation

RTOL = 1e-5


def close(value: float, output: float, terms: float) -> bool:
    return abs(value - output) <= RTOL * max(terms, 1e-30)


@st.composite
def convs(draw):
    groups = draw(st.sampled_from([1, 2, 3]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 2)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = (draw(st.integers(4, 9)), draw(st.integers(4, 9)))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    if stride == (1, 1) and draw(st.booleans()):
        padding = "same"
    else:
        padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    try:
        conv = nn.Conv2d(cin, cout, kernel, stride, padding, dilation, groups, draw(st.booleans()), mode)
        x = torch.randn(1, cin, *size, generator=torch.Generator().manual_seed(draw(st.integers(0, 99))))
        conv(x)
    except (RuntimeError, ValueError):
        return None  # a combination PyTorch refuses (window larger than the padded input, …)
    return conv, x, draw(st.integers(0, cout - 1))


@settings(max_examples=80)
@given(convs())
def test_conv_frames_reproduce_the_output(case):
    if case is None:
        return
    conv, x, channel = case
    animation = WindowAnimation(conv, x, channel)
    expected = conv(x)[0, channel].detach().numpy()
    assert len(animation) == expected.size
    np.testing.assert_array_equal(animation.output, expected)
    per_group = conv.in_channels // conv.groups
    group = channel // (conv.out_channels // conv.groups)
    for frame in animation:
        assert frame.out_pos == divmod(frame.index, expected.shape[1])
        terms = float(np.abs(frame.products).sum()) + abs(frame.bias)
        assert close(frame.value, float(expected[frame.out_pos]), terms), (frame.index, frame.value, frame.output)
        assert list(frame.input_channels) == list(range(group * per_group, (group + 1) * per_group))
        np.testing.assert_allclose(frame.channel_sums.sum() + frame.bias, frame.value)
        np.testing.assert_array_equal(frame.products, frame.window.astype(np.float64) * frame.kernel)
        assert not np.isnan(frame.window).any()  # conv windows never hang over the padded input
        if conv.padding_mode == "zeros":
            assert (frame.window[:, ~frame.inside] == 0).all()


@st.composite
def transposed_convs(draw):
    groups = draw(st.sampled_from([1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 2)))
    extra = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    size = (draw(st.integers(2, 6)), draw(st.integers(2, 6)))
    try:
        conv = nn.ConvTranspose2d(cin, cout, kernel, stride, padding, extra, groups, draw(st.booleans()), dilation)
        x = torch.randn(1, cin, *size, generator=torch.Generator().manual_seed(draw(st.integers(0, 99))))
        if conv(x).numel() == 0:
            return None
    except RuntimeError:
        return None  # padding that crops the whole output
    return conv, x, draw(st.integers(0, cout - 1))


@settings(max_examples=80)
@given(transposed_convs())
def test_transposed_conv_frames_are_the_equivalent_convolution(case):
    """Zeros inserted between the input's pixels, d·(k − 1) − p padding, the flipped kernel at stride 1:
    every frame's sum is the transposed conv's output there."""
    if case is None:
        return
    conv, x, channel = case
    animation = WindowAnimation(conv, x, channel)
    expected = conv(x)[0, channel].detach().numpy()
    g = animation.geometry
    assert g.transposed and g.stride == (1, 1) and g.inserted == tuple(conv.stride)
    assert animation.input.shape[1:] == ((x.shape[2] - 1) * conv.stride[0] + 1, (x.shape[3] - 1) * conv.stride[1] + 1)
    np.testing.assert_array_equal(animation.output, expected)
    for frame in animation:
        terms = float(np.abs(frame.products).sum()) + abs(frame.bias)
        assert close(frame.value, float(expected[frame.out_pos]), terms), (frame.index, frame.value, frame.output)
        assert (frame.window[:, ~frame.inside] == 0).all()  # inserted zeros and padding read nothing
        assert not np.isnan(frame.window).any()
        real = frame.inside & (frame.rows[:, None] % conv.stride[0] == 0) & (frame.cols[None, :] % conv.stride[1] == 0)
        assert (real == frame.inside).all()


@st.composite
def pools(draw):
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    ceil_mode = draw(st.booleans())
    if draw(st.booleans()):
        pool = nn.MaxPool2d(kernel, stride, padding, (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
                            ceil_mode=ceil_mode)
    else:
        pool = nn.AvgPool2d(kernel, stride, padding, ceil_mode, draw(st.booleans()),
                            draw(st.one_of(st.none(), st.integers(1, 5))))
    size = (draw(st.integers(3, 9)), draw(st.integers(3, 9)))
    x = torch.randn(1, 2, *size, generator=torch.Generator().manual_seed(draw(st.integers(0, 99))))
    try:
        pool(x)
    except RuntimeError:
        return None
    return pool, x, draw(st.integers(0, 1))


@settings(max_examples=80)
@given(pools())
def test_pool_frames_reproduce_the_output(case):
    if case is None:
        return
    pool, x, channel = case
    animation = WindowAnimation(pool, x, channel)
    expected = pool(x)[0, channel].numpy()
    assert len(animation) == expected.size
    if isinstance(pool, nn.MaxPool2d):
        _, indices = F.max_pool2d(x, pool.kernel_size, pool.stride, pool.padding, pool.dilation, pool.ceil_mode,
                                  return_indices=True)
        width = x.shape[3]
    for frame in animation:
        assert list(frame.input_channels) == [channel]
        if isinstance(pool, nn.MaxPool2d):
            assert frame.value == expected[frame.out_pos]  # exactly
            ky, kx = frame.argmax
            assert frame.inside[ky, kx]
            assert frame.rows[ky] * width + frame.cols[kx] == int(indices[0, channel][frame.out_pos])
        else:
            real = np.where(frame.inside, frame.window[0], 0.0)
            assert close(frame.value, float(expected[frame.out_pos]), float(np.abs(real).sum()) / frame.divisor)
            assert np.isnan(frame.window[0][~(frame.inside | frame.in_padding)]).all()  # overhang: no cells


def test_avg_pool_divisors_follow_count_include_pad_and_ceil_mode():
    x = torch.ones(1, 1, 6, 6)
    with_pad = WindowAnimation(nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=True), x)
    without = WindowAnimation(nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False), x)
    assert with_pad.geometry.output_size == (4, 4)
    assert with_pad.frame(0).divisor == 9 and without.frame(0).divisor == 4  # padding counted / not counted
    last_in, last_out = with_pad.frame(15), without.frame(15)  # rows 5 (real), 6 (padding), 7 (beyond)
    assert list(last_in.rows) == [5, 6, 7]
    assert last_in.divisor == 4 and last_out.divisor == 1  # the overhang never counts
    assert last_in.value == last_in.output == 0.25 and last_out.value == last_out.output == 1.0


def test_conv_frame_shows_each_input_channel_and_their_sum():
    conv = nn.Conv2d(3, 2, 3, padding=1)
    animation = WindowAnimation(conv, torch.rand(1, 3, 4, 4), out_channel=1)
    frame = animation.frame(5)
    assert frame.window.shape == frame.kernel.shape == (3, 3, 3)
    assert frame.channel_sums.shape == (3,)
    assert frame.bias == pytest.approx(float(conv.bias.detach()[1]))
    assert frame.out_pos == (1, 1) and frame.inside.all()
    edge = animation.frame(0)
    assert not edge.inside[0].any() and edge.in_padding[0].all()


def test_only_conv_and_pool_nodes_animate():
    network = network_from_design(load_template("default"))
    acts = feature_maps(network, torch.rand(1, 1, 32, 32))
    animation = window_animation(network, acts, "pool1", out_channel=2)
    np.testing.assert_array_equal(animation.input, acts["relu1"])
    np.testing.assert_array_equal(animation.output, acts["pool1"][2])
    conv = window_animation(network, acts, "conv2", out_channel=5)  # on captured (inference-mode) tensors
    frame = conv.frame(17)
    assert close(frame.value, float(acts["conv2"][5].flat[17]), float(np.abs(frame.products).sum()))
    with pytest.raises(ExplainError, match="Conv2d, ConvTranspose2d, MaxPool2d and AvgPool2d"):
        window_animation(network, acts, "relu1")
    with pytest.raises(ExplainError, match="out of range"):
        window_animation(network, acts, "conv1", out_channel=16)


def test_frames_render_and_export(tmp_path):
    animation = WindowAnimation(nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.rand(1, 1, 6, 6))
    picture = render_window_frame(animation, animation.frame(3), cell=6)
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3
    gif = save_animation(animation, tmp_path / "pool.gif", cell=6)
    assert gif[0].stat().st_size > 0
    from PIL import Image
    with Image.open(gif[0]) as image:
        assert image.n_frames == len(animation)
    pngs = save_animation(animation, tmp_path / "frames", frames=[0, 1], cell=6)
    assert [p.name for p in pngs] == ["frame_0000.png", "frame_0001.png"]
