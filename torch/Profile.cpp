//===- Profile.cpp - where a training step's time goes --------------------===//

#include "rotary/Torch/Profile.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>

using namespace rotary::nn;

namespace {
std::atomic<bool> on{false};
std::mutex mutex;
std::map<std::string, profile::Line> kernels;
profile::Line matmul{"LibTorch matrix products", 0, 0};
std::atomic<bool> callbackAdded{false};

/// The leaf matrix-product ops of ATen: a composite such as aten::matmul
/// or aten::linear calls one of these, so counting only these counts each
/// product once.
bool isMatmul(const char *name) {
  for (const char *op :
       {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::addbmm",
        "aten::mv", "aten::addmv", "aten::dot"})
    if (std::strcmp(name, op) == 0)
      return true;
  return false;
}

struct Started : at::ObserverContext {
  std::chrono::steady_clock::time_point at;
};

std::unique_ptr<at::ObserverContext> onEnter(const at::RecordFunction &fn) {
  if (!on.load(std::memory_order_relaxed) || !isMatmul(fn.name()))
    return nullptr;
  auto started = std::make_unique<Started>();
  started->at = std::chrono::steady_clock::now();
  return started;
}

void onExit(const at::RecordFunction &, at::ObserverContext *ctx) {
  if (!ctx)
    return;
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                           static_cast<Started *>(ctx)->at)
                 .count();
  std::lock_guard<std::mutex> lock(mutex);
  matmul.calls += 1;
  matmul.seconds += s;
}
} // namespace

void profile::start() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    kernels.clear();
    matmul.calls = 0;
    matmul.seconds = 0;
  }
  if (!callbackAdded.exchange(true))
    at::addGlobalCallback(at::RecordFunctionCallback(onEnter, onExit)
                              .needsInputs(false)
                              .scopes({at::RecordScope::FUNCTION}));
  on = true;
}

void profile::stop() { on = false; }

void profile::resume() { on = true; }

bool profile::enabled() { return on.load(std::memory_order_relaxed); }

void profile::recordKernel(const std::string &entry, double seconds) {
  std::lock_guard<std::mutex> lock(mutex);
  Line &l = kernels[entry];
  l.name = entry;
  l.calls += 1;
  l.seconds += seconds;
}

profile::Report profile::report() {
  std::lock_guard<std::mutex> lock(mutex);
  Report r;
  for (const auto &[name, line] : kernels)
    r.kernels.push_back(line);
  std::sort(r.kernels.begin(), r.kernels.end(),
            [](const Line &a, const Line &b) { return a.seconds > b.seconds; });
  r.matmul = matmul;
  return r;
}
