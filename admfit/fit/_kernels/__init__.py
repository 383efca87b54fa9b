"""The numba kernels of the fit (private; the interfaces are admfit.fit.fitting, signal, prepare and api).

``adm``: the fit of one instance and of a batch; ``signal``: the signal preparation over segments; ``prepare``:
the checks and preparation of every video in one parallel pass; ``addresses``: arrays read through their address.
"""
from admfit.threads import keep_openmp_alone

# Before any parallel kernel runs: numba's OpenMP pool would reset torch's thread count (admfit/threads.py).
keep_openmp_alone()
