"""Models: layers and networks, the registry, and every registered entry (the zoo's recipes, the
published models, the authors' models). Importing this package registers them all.

    >>> from lowfreq.models import registry
    >>> registry.list_models(group="blur")            # names
    >>> registry.load_model("blur_s1.5", tier="cpu")  # trained or published weights, verified
"""
from lowfreq.models import authors, published, registry, zoo  # noqa: F401  (each registers its entries)
# the user-facing names of the README's and book/examples/my_model.py's code (a front for any classifier);
# everything else is imported from its module (lowfreq.models.layers, lowfreq.models.nets)
from lowfreq.models.layers import GaussianBlur, Preprocessed

__all__ = ["registry", "zoo", "published", "authors", "GaussianBlur", "Preprocessed"]
