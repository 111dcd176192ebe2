"""The torch layer: fast paths behind the public losses.

The families register their fast paths with ``fast_path("torch._<family>")``; the modules here are
imported at a loss's first call on torch tensors, so ``import losskit`` never imports torch. Each
fast path has its loss's signature and either computes the loss exactly as the reference path
does (to rounding) or returns ``NotImplemented`` for the reference path to take the call:

- *native* fast paths hand the call to a torch kernel with the same semantics
  (``F.mse_loss``, ``F.cross_entropy``, ...);
- *fused* fast paths compute the loss and its gradient in one pass (see ``_fused``).
"""

# The dispatcher finds each family's fast paths as attributes of this package.
from . import _autoencoder as _autoencoder
from . import _classification as _classification
from . import _detection as _detection
from . import _embedding as _embedding
from . import _gan as _gan
from . import _language as _language
from . import _regression as _regression
from . import _segmentation as _segmentation
