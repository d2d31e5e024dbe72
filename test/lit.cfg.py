# -*- Python -*-
# lit configuration of the rotary FileCheck suite.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "rotary"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.rotary_obj_root, "test")
config.substitutions.append(("%PATH%", config.environment["PATH"]))

llvm_config.use_default_substitutions()
# Tools of this build first, then FileCheck, not, count from llvm-22-tools.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.rotary_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(
    ["rotary-opt"], [config.rotary_tools_dir])
config.substitutions.append(("%rotary_obj_root", config.rotary_obj_root))
config.substitutions.append(("%rotary_src_root", config.rotary_src_root))
# The stand-in CUDA driver of test/runtime/FakeCuda.c (ROTARY_LIBCUDA).
config.substitutions.append(
    ("%fake_libcuda",
     os.path.join(config.rotary_obj_root, "test", "runtime",
                  "librotary_fake_cuda.so")))

# The CUDA toolkit: its ptxas checks the PTX of rotary-gpu-pipeline and its
# libdevice resolves the kernels' __nv_* calls (features `ptxas` and
# `cuda-toolkit`; the pipeline finds the toolkit through CUDA_HOME).
llvm_config.with_system_environment(["CUDA_HOME"])
_cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
_ptxas = os.path.join(_cuda_home, "bin", "ptxas")
if os.access(_ptxas, os.X_OK):
    config.available_features.add("ptxas")
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", _ptxas))
    # The same toolkit's libdevice for the pipeline, set or not outside.
    config.environment["CUDA_HOME"] = _cuda_home
