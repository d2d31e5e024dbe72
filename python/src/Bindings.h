//===- Bindings.h - the parts of rotary._C ----------------------*- C++ -*-===//
//
// rotary._C is built from one translation unit per part (they include
// LibTorch's Python headers, which are slow to compile); Module.cpp calls
// each part's bind function.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_PYTHON_BINDINGS_H
#define ROTARY_PYTHON_BINDINGS_H

#include <pybind11/pybind11.h>

/// Bundles, the JIT cache, model kernels and argument checks (Module.cpp).
void bindCore(pybind11::module_ &m);
/// rotary::nn::FAM (Fam.cpp).
void bindFam(pybind11::module_ &m);

#endif // ROTARY_PYTHON_BINDINGS_H
