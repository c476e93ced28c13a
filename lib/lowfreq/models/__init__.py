"""Models: layers and networks, the registry, and every registered entry (the zoo's recipes, the
published models, the authors' models). Importing this package registers them all.

    >>> from lowfreq.models import registry
    >>> registry.list_models(group="blur")            # names
    >>> registry.load_model("blur_s1.5", tier="cpu")  # trained or published weights, verified
"""
from lowfreq.models import authors, published, registry, zoo  # noqa: F401  (each registers its entries)
from lowfreq.models.layers import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    IMAGENET_MEAN,
    IMAGENET_STD,
    GaussianBlur,
    GrayscaleInput,
    Normalize,
    PCAProjection,
    Preprocessed,
    blur_kernel_size,
)
from lowfreq.models.nets import cifar_cnn, resnet18_cifar, resnet_cifar

__all__ = [
    "registry", "zoo", "published", "authors",
    "IMAGENET_MEAN", "IMAGENET_STD", "CIFAR10_MEAN", "CIFAR10_STD",
    "Normalize", "GaussianBlur", "blur_kernel_size", "PCAProjection", "Preprocessed", "GrayscaleInput",
    "resnet18_cifar", "resnet_cifar", "cifar_cnn",
]
