"""CS231n's layer functions (affine, ReLU), losses (softmax, SVM) and fully connected nets
(``TwoLayerNet``, ``ThreeLayerNet``), as the default contract names them."""

from bpverify.registry import Family

FAMILY = Family(name="cs231n_layers", title="CS231n's layers, losses and nets",
                categories=("layer", "loss", "net"), default_contract=True)
