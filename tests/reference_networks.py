"""Reference networks written here from their papers' and torchvision's definitions (torchvision
itself cannot be used), for checks against published figures."""

from __future__ import annotations

from convviz.design import Design, InputSpec


class Net:
    """Adds conv-BN-ReLU units and merges to a design, torchvision's naming."""

    def __init__(self, name: str, shape: tuple[int, int, int]) -> None:
        self.design = Design(name, InputSpec(*shape))
        self.design.add_node("Input", "input")

    def conv(self, node_id: str, source: str, out: int, kernel, stride=1, padding=0) -> str:
        """torchvision's BasicConv2d: conv (no bias) → BatchNorm (eps 0.001) → ReLU."""
        d = self.design
        d.add_node("Conv2d", f"{node_id}_conv", [source], {"out_channels": out, "kernel_size": kernel,
                                                           "stride": stride, "padding": padding, "bias": False})
        d.add_node("BatchNorm2d", f"{node_id}_bn", [f"{node_id}_conv"], {"eps": 0.001})
        return d.add_node("ReLU", node_id, [f"{node_id}_bn"]).id

    def add(self, type_name: str, node_id: str, inputs: list[str], **params) -> str:
        return self.design.add_node(type_name, node_id, inputs, params).id


def inception_v3() -> Design:
    """torchvision's Inception3 without its auxiliary classifier (``aux_logits=False``), 3×299×299, 1000
    classes: 23,834,568 parameters (27,161,264 with the classifier's 3,326,696); receptive field 1311 (Araujo et al., "Computing receptive fields of convolutional neural networks", Distill 2019)."""
    n = Net("Inception-v3", (3, 299, 299))
    x = n.conv("Conv2d_1a_3x3", "input", 32, 3, stride=2)
    x = n.conv("Conv2d_2a_3x3", x, 32, 3)
    x = n.conv("Conv2d_2b_3x3", x, 64, 3, padding=1)
    x = n.add("MaxPool2d", "maxpool1", [x], kernel_size=3, stride=2)
    x = n.conv("Conv2d_3b_1x1", x, 80, 1)
    x = n.conv("Conv2d_4a_3x3", x, 192, 3)
    x = n.add("MaxPool2d", "maxpool2", [x], kernel_size=3, stride=2)

    def block_a(name, x, pool_features):
        b1 = n.conv(f"{name}_branch1x1", x, 64, 1)
        b5 = n.conv(f"{name}_branch5x5_2", n.conv(f"{name}_branch5x5_1", x, 48, 1), 64, 5, padding=2)
        b3 = n.conv(f"{name}_branch3x3dbl_1", x, 64, 1)
        b3 = n.conv(f"{name}_branch3x3dbl_2", b3, 96, 3, padding=1)
        b3 = n.conv(f"{name}_branch3x3dbl_3", b3, 96, 3, padding=1)
        bp = n.add("AvgPool2d", f"{name}_pool", [x], kernel_size=3, stride=1, padding=1)
        bp = n.conv(f"{name}_branch_pool", bp, pool_features, 1)
        return n.add("Concat", name, [b1, b5, b3, bp])

    def block_b(name, x):
        b3 = n.conv(f"{name}_branch3x3", x, 384, 3, stride=2)
        bd = n.conv(f"{name}_branch3x3dbl_1", x, 64, 1)
        bd = n.conv(f"{name}_branch3x3dbl_2", bd, 96, 3, padding=1)
        bd = n.conv(f"{name}_branch3x3dbl_3", bd, 96, 3, stride=2)
        bp = n.add("MaxPool2d", f"{name}_pool", [x], kernel_size=3, stride=2)
        return n.add("Concat", name, [b3, bd, bp])

    def block_c(name, x, c7):
        b1 = n.conv(f"{name}_branch1x1", x, 192, 1)
        b7 = n.conv(f"{name}_branch7x7_1", x, c7, 1)
        b7 = n.conv(f"{name}_branch7x7_2", b7, c7, [1, 7], padding=[0, 3])
        b7 = n.conv(f"{name}_branch7x7_3", b7, 192, [7, 1], padding=[3, 0])
        bd = n.conv(f"{name}_branch7x7dbl_1", x, c7, 1)
        bd = n.conv(f"{name}_branch7x7dbl_2", bd, c7, [7, 1], padding=[3, 0])
        bd = n.conv(f"{name}_branch7x7dbl_3", bd, c7, [1, 7], padding=[0, 3])
        bd = n.conv(f"{name}_branch7x7dbl_4", bd, c7, [7, 1], padding=[3, 0])
        bd = n.conv(f"{name}_branch7x7dbl_5", bd, 192, [1, 7], padding=[0, 3])
        bp = n.add("AvgPool2d", f"{name}_pool", [x], kernel_size=3, stride=1, padding=1)
        bp = n.conv(f"{name}_branch_pool", bp, 192, 1)
        return n.add("Concat", name, [b1, b7, bd, bp])

    def block_d(name, x):
        b3 = n.conv(f"{name}_branch3x3_2", n.conv(f"{name}_branch3x3_1", x, 192, 1), 320, 3, stride=2)
        b7 = n.conv(f"{name}_branch7x7x3_1", x, 192, 1)
        b7 = n.conv(f"{name}_branch7x7x3_2", b7, 192, [1, 7], padding=[0, 3])
        b7 = n.conv(f"{name}_branch7x7x3_3", b7, 192, [7, 1], padding=[3, 0])
        b7 = n.conv(f"{name}_branch7x7x3_4", b7, 192, 3, stride=2)
        bp = n.add("MaxPool2d", f"{name}_pool", [x], kernel_size=3, stride=2)
        return n.add("Concat", name, [b3, b7, bp])

    def block_e(name, x):
        b1 = n.conv(f"{name}_branch1x1", x, 320, 1)
        b3 = n.conv(f"{name}_branch3x3_1", x, 384, 1)
        b3 = n.add("Concat", f"{name}_branch3x3", [n.conv(f"{name}_branch3x3_2a", b3, 384, [1, 3], padding=[0, 1]),
                                                   n.conv(f"{name}_branch3x3_2b", b3, 384, [3, 1], padding=[1, 0])])
        bd = n.conv(f"{name}_branch3x3dbl_1", x, 448, 1)
        bd = n.conv(f"{name}_branch3x3dbl_2", bd, 384, 3, padding=1)
        bd = n.add("Concat", f"{name}_branch3x3dbl", [n.conv(f"{name}_branch3x3dbl_3a", bd, 384, [1, 3], padding=[0, 1]),
                                                      n.conv(f"{name}_branch3x3dbl_3b", bd, 384, [3, 1], padding=[1, 0])])
        bp = n.add("AvgPool2d", f"{name}_pool", [x], kernel_size=3, stride=1, padding=1)
        bp = n.conv(f"{name}_branch_pool", bp, 192, 1)
        return n.add("Concat", name, [b1, b3, bd, bp])

    x = block_a("Mixed_5b", x, 32)
    x = block_a("Mixed_5c", x, 64)
    x = block_a("Mixed_5d", x, 64)
    x = block_b("Mixed_6a", x)
    x = block_c("Mixed_6b", x, 128)
    x = block_c("Mixed_6c", x, 160)
    x = block_c("Mixed_6d", x, 160)
    x = block_c("Mixed_6e", x, 192)
    x = block_d("Mixed_7a", x)
    x = block_e("Mixed_7b", x)
    x = block_e("Mixed_7c", x)
    x = n.add("AdaptiveAvgPool2d", "avgpool", [x], output_size=1)
    x = n.add("Dropout", "dropout", [x], p=0.5)
    x = n.add("Flatten", "flatten", [x])
    n.add("Linear", "fc", [x], out_features=1000)
    return n.design
