"""Layer classes in the style of "Deep Learning from Scratch" (Saito): ``MulLayer``, ``Affine``,
``SoftmaxWithLoss``, ... and the book's two-layer net built from the student's own classes."""

from bpverify.registry import AutoRubric, Family

FAMILY = Family(
    name="layer_classes",
    title='layer classes in the style of "Deep Learning from Scratch"',
    categories=("layer-class", "layer-class-net"),
    rubric="layer-classes",
    auto=AutoRubric("layer classes in the style of Deep Learning from Scratch",
                    ("MulLayer", "AddLayer", "Relu", "Sigmoid", "Affine", "SoftmaxWithLoss",
                     "Dropout", "BatchNormalization", "Convolution", "Pooling")),
)
