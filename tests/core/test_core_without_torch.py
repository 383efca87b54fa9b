"""The core must work where torch is not installed."""
import subprocess
import sys

BLOCK_TORCH = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is not installed")
sys.meta_path.insert(0, NoTorch())
import numpy as np
from admfit import fit_instances, ADMConfig, PseudoLabel
import admfit.evaluation, admfit.datasets, admfit.synthetic, admfit.detector, admfit.datasets.simulate
import admfit_cli.main, admfit_cli.torch_main  # the --stage choices come from the torch-free stage table
labels = fit_instances({"v": np.full((20, 1), 0.5)}, {"v": [[3, 0]]}, bg_probs={"v": np.zeros(20)})
assert isinstance(labels[0], PseudoLabel)
assert "torch" not in sys.modules
print("ok")
"""


def test_core_and_cli_import_without_torch():
    result = subprocess.run([sys.executable, "-c", BLOCK_TORCH], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
