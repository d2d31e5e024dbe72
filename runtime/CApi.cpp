//===- CApi.cpp - the C API over the C++ runtime --------------------------===//
//
// rotary/Runtime/rotary_runtime.h: every function catches what the C++ API
// throws and turns it into a status code and a thread-local message.
//
//===----------------------------------------------------------------------===//

#include "rotary/Runtime/Runtime.h"
#include "rotary/Runtime/rotary_runtime.h"

#include <cstring>
#include <new>

using namespace rotary;
using namespace rotary::runtime;

struct rotary_bundle {
  std::shared_ptr<Bundle> bundle;
};

static_assert(sizeof(rotary_dtype) == sizeof(int32_t) &&
                  sizeof(rotary_device) == sizeof(int32_t),
              "the enum fields of rotary_tensor are read as int32_t");
static_assert(int(bundle::DType::F32) == ROTARY_F32 &&
                  int(bundle::DType::F16) == ROTARY_F16 &&
                  int(bundle::DType::BF16) == ROTARY_BF16 &&
                  int(bundle::DType::F64) == ROTARY_F64 &&
                  int(bundle::DType::I32) == ROTARY_I32 &&
                  int(bundle::DType::I64) == ROTARY_I64,
              "rotary_dtype mirrors rotary::bundle::DType");

namespace {

thread_local std::string lastError;

int fail(int status, const std::string &message) {
  lastError = message;
  return status;
}

int statusOf(Error::Kind kind) {
  switch (kind) {
  case Error::Kind::Load:
    return ROTARY_ERROR_LOAD;
  case Error::Kind::Argument:
    return ROTARY_ERROR_ARGUMENT;
  case Error::Kind::Check:
    return ROTARY_ERROR_CHECK;
  case Error::Kind::Device:
    return ROTARY_ERROR_DEVICE;
  case Error::Kind::Internal:
    return ROTARY_ERROR_INTERNAL;
  }
  return ROTARY_ERROR_INTERNAL;
}

/// Runs `body`, mapping exceptions to status codes.
template <typename F> int guarded(F &&body) {
  try {
    body();
    lastError.clear();
    return ROTARY_OK;
  } catch (const Error &e) {
    return fail(statusOf(e.kind()), e.what());
  } catch (const std::bad_alloc &) {
    return fail(ROTARY_ERROR_INTERNAL, "out of memory");
  } catch (const std::exception &e) {
    return fail(ROTARY_ERROR_INTERNAL, e.what());
  } catch (...) {
    return fail(ROTARY_ERROR_INTERNAL, "unknown error");
  }
}

[[noreturn]] void argumentError(const std::string &message) {
  throw Error(Error::Kind::Argument, message);
}

std::vector<TensorRef> toRefs(const bundle::Entry &entry,
                              const std::vector<bundle::TensorSpec> &specs,
                              const rotary_tensor *tensors, int n,
                              const char *what) {
  if (n < 0)
    argumentError("entry '" + entry.name + "': negative number of " + what +
                  "s (" + std::to_string(n) + ")");
  if (n > 0 && !tensors)
    argumentError("entry '" + entry.name + "': " + what +
                  "s is NULL but its count is " + std::to_string(n));
  std::vector<TensorRef> refs(n);
  for (int i = 0; i < n; ++i) {
    const rotary_tensor &t = tensors[i];
    std::string arg = size_t(i) < specs.size()
                          ? "argument '" + specs[i].name + "'"
                          : std::string(what) + " " + std::to_string(i);
    std::string where = "entry '" + entry.name + "': " + arg;
    // C callers may store any int in the enum fields; reading an
    // out-of-range value as the C++ enum type would be undefined.
    int32_t dtype, device;
    std::memcpy(&dtype, &t.dtype, sizeof dtype);
    std::memcpy(&device, &t.device, sizeof device);
    if (dtype < ROTARY_F32 || dtype > ROTARY_I64)
      argumentError(where + " has the invalid dtype " + std::to_string(dtype));
    if (device != ROTARY_DEVICE_CPU && device != ROTARY_DEVICE_CUDA)
      argumentError(where + " has the invalid device " +
                    std::to_string(device));
    if (t.rank < 0)
      argumentError(where + " has the negative rank " + std::to_string(t.rank));
    if (t.rank > 0 && !t.shape)
      argumentError(where + " has rank " + std::to_string(t.rank) +
                    " but a NULL shape");
    TensorRef &r = refs[i];
    r.data = t.data;
    r.dtype = bundle::DType(dtype);
    r.device = device == ROTARY_DEVICE_CUDA ? TensorRef::Device::CUDA
                                            : TensorRef::Device::CPU;
    r.shape.assign(t.shape, t.shape + t.rank);
    if (t.strides)
      r.strides.assign(t.strides, t.strides + t.rank);
  }
  return refs;
}

} // namespace

extern "C" {

int rotary_bundle_load(const char *dir, rotary_bundle **out) {
  if (out)
    *out = nullptr;
  if (!dir || !out)
    return fail(ROTARY_ERROR_ARGUMENT,
                "rotary_bundle_load: dir and out must not be NULL");
  return guarded([&] {
    auto handle = std::make_unique<rotary_bundle>();
    handle->bundle = Bundle::load(dir);
    *out = handle.release();
  });
}

void rotary_bundle_free(rotary_bundle *bundle) { delete bundle; }

int rotary_bundle_call(const rotary_bundle *bundle, const char *entry,
                       const rotary_tensor *inputs, int n_in,
                       const rotary_tensor *outputs, int n_out) {
  if (!bundle || !entry)
    return fail(ROTARY_ERROR_ARGUMENT,
                "rotary_bundle_call: bundle and entry must not be NULL");
  return guarded([&] {
    const bundle::Entry &e = bundle->bundle->entry(entry);
    bundle->bundle->call(entry, toRefs(e, e.inputs, inputs, n_in, "input"),
                         toRefs(e, e.outputs, outputs, n_out, "output"));
  });
}

int rotary_bundle_output_shape(const rotary_bundle *bundle, const char *entry,
                               const rotary_tensor *inputs, int n_in,
                               int output, int64_t *shape, int max_rank,
                               int *rank) {
  if (!bundle || !entry || !rank)
    return fail(ROTARY_ERROR_ARGUMENT, "rotary_bundle_output_shape: bundle, "
                                       "entry and rank must not be NULL");
  return guarded([&] {
    const bundle::Entry &e = bundle->bundle->entry(entry);
    if (output < 0 || size_t(output) >= e.outputs.size())
      argumentError("entry '" + e.name + "' has no output " +
                    std::to_string(output) + " (it has " +
                    std::to_string(e.outputs.size()) + ")");
    std::vector<std::vector<int64_t>> shapes = bundle->bundle->outputShapes(
        entry, toRefs(e, e.inputs, inputs, n_in, "input"));
    const std::vector<int64_t> &s = shapes[output];
    *rank = int(s.size());
    if (int(s.size()) > max_rank)
      argumentError("entry '" + e.name + "': output '" +
                    e.outputs[output].name + "' has rank " +
                    std::to_string(s.size()) + ", more than max_rank " +
                    std::to_string(max_rank));
    if (!s.empty() && !shape)
      argumentError("rotary_bundle_output_shape: shape must not be NULL");
    for (size_t i = 0; i < s.size(); ++i)
      shape[i] = s[i];
  });
}

const char *rotary_last_error(void) { return lastError.c_str(); }

void rotary_set_parallel_for(rotary_parallel_for launcher) {
  rotary::runtime::setParallelFor(launcher);
}

} // extern "C"
