from builtins import range
import numpy as np


def im2col_indices(x, field_height, field_width, padding=1, stride=1):
    """Columns of every receptive field: (C * field_height * field_width, out_h * out_w * N)."""
    N, C, H, W = x.shape
    out_h = (H + 2 * padding - field_height) // stride + 1
    out_w = (W + 2 * padding - field_width) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), mode="constant")
    cols = np.empty((C, field_height, field_width, out_h, out_w, N), dtype=x.dtype)
    for a in range(field_height):
        for b in range(field_width):
            patch = x_pad[:, :, a:a + stride * out_h:stride, b:b + stride * out_w:stride]
            cols[:, a, b] = patch.transpose(1, 2, 3, 0)
    return cols.reshape(C * field_height * field_width, -1)


def col2im_indices(cols, x_shape, field_height=3, field_width=3, padding=1, stride=1):
    """The adjoint of im2col_indices: every column entry added back where it came from."""
    N, C, H, W = x_shape
    out_h = (H + 2 * padding - field_height) // stride + 1
    out_w = (W + 2 * padding - field_width) // stride + 1
    cols = cols.reshape(C, field_height, field_width, out_h, out_w, N)
    x_pad = np.zeros((N, C, H + 2 * padding, W + 2 * padding), dtype=cols.dtype)
    for a in range(field_height):
        for b in range(field_width):
            x_pad[:, :, a:a + stride * out_h:stride, b:b + stride * out_w:stride] += \
                cols[:, a, b].transpose(3, 0, 1, 2)
    return x_pad[:, :, padding:padding + H, padding:padding + W]
