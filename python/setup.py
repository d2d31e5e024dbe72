"""``pip install ./python``: the rotary package from the project's CMake build.

The extension ``rotary._C`` links the project's C++ libraries, so the
package is built by the project's CMake, not by setuptools: this script
configures (when needed) and builds the ``rotary-python`` target in
``$ROTARY_BUILD_DIR`` (default: ``build`` at the repository root, the folder
``scripts/build`` uses; an existing build is reused), then installs CMake's
``python`` component (the pure-Python files, ``_C`` and the two libraries it
loads, found next to it) into the wheel. Nothing is downloaded: run pip with
``--no-build-isolation`` (setuptools and wheel come from Debian).
"""

import os
import subprocess
import sys

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _version() -> str:
    # The project's version, from the top-level CMakeLists.txt.
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("project(rotary VERSION "):
                return line.split()[2]
    raise RuntimeError("rotary: no version in CMakeLists.txt")


def _build_dir() -> str:
    """The project's CMake build folder."""
    build = os.environ.get("ROTARY_BUILD_DIR", "build")
    return build if os.path.isabs(build) else os.path.join(ROOT, build)


# setuptools' own scratch (build/, *.egg-info) goes into the CMake build
# folder, not into the sources.
SCRATCH = os.path.join(_build_dir(), "python-setup")
os.makedirs(SCRATCH, exist_ok=True)


class CMakeBuild(build_py):
    """Builds the package with the project's CMake build."""

    def run(self) -> None:
        super().run()
        build = _build_dir()
        if not os.path.exists(os.path.join(build, "CMakeCache.txt")):
            subprocess.check_call([
                "cmake", "-S", ROOT, "-B", build, "-G", "Ninja",
                "-DCMAKE_BUILD_TYPE=Release",
                f"-DPython3_EXECUTABLE={sys.executable}"])
        subprocess.check_call(
            ["cmake", "--build", build, "--target", "rotary-python"])
        subprocess.check_call([
            "cmake", "--install", build, "--component", "python",
            "--prefix", os.path.abspath(self.build_lib)])


class BinaryDistribution(Distribution):
    """The wheel holds a compiled extension: tag it for this platform."""

    def has_ext_modules(self) -> bool:
        return True


setup(
    name="rotary",
    version=_version(),
    description="Compiled rotation-heavy transformer kernels for PyTorch",
    packages=["rotary", "rotary.nn", "rotary.optim"],
    package_data={"rotary": ["*.pyi", "py.typed"]},
    python_requires=">=3.9",
    install_requires=["torch"],
    cmdclass={"build_py": CMakeBuild},
    options={"build": {"build_base": os.path.join(SCRATCH, "build")},
             "egg_info": {"egg_base": SCRATCH}},
    distclass=BinaryDistribution,
    zip_safe=False,
)
