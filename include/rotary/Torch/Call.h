//===- Call.h - bundle entries as LibTorch ops ------------------*- C++ -*-===//
//
// Runs the entries of a kernel bundle on at::Tensors, as plain calls or as
// differentiable ops whose backward is the bundle's compiled vjp (the
// manifest's "gradients" record, written by rotary-generate-gradients).
// Links LibTorch and the runtime, never MLIR. Every tensor is checked before
// anything runs; a mismatch is a c10::Error naming the entry, the argument
// and what was expected.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_TORCH_CALL_H
#define ROTARY_TORCH_CALL_H

#include "rotary/Runtime/Runtime.h"

#include <ATen/Tensor.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rotary::nn {

/// The bundle dtype of a LibTorch scalar type, if kernels take it.
std::optional<bundle::DType> bundleDType(at::ScalarType type);

/// Runs entry `name`: allocates the outputs with the shapes the manifest's
/// rules give for these inputs. No autograd.
std::vector<at::Tensor> call(const runtime::Bundle &bundle,
                             const std::string &name,
                             const std::vector<at::Tensor> &inputs);

/// Runs entry `name` writing its results into `outputs` (checked like the
/// inputs: dtype, shape, device, contiguity). An output may be the same
/// memory as an input only when the entry is elementwise in them (each
/// element read before it is written), as fam_step is: that is how the
/// FAM optimizer updates parameters and momenta in place. No autograd.
void callInto(const runtime::Bundle &bundle, const std::string &name,
              const std::vector<at::Tensor> &inputs,
              const std::vector<at::Tensor> &outputs);

/// Runs entry `name` as a differentiable op: the forward is the record's
/// saving forward (its saved tensors stay with the autograd graph), the
/// backward its vjp. Inputs that get no gradient (integer positions, ...)
/// get none. Throws c10::Error when the entry has no gradient record.
std::vector<at::Tensor> apply(const std::shared_ptr<runtime::Bundle> &bundle,
                              const std::string &name,
                              const std::vector<at::Tensor> &inputs);

} // namespace rotary::nn

#endif // ROTARY_TORCH_CALL_H
