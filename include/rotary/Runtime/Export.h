//===- Export.h - symbol visibility of librotary_runtime --------*- C++ -*-===//
//
// librotary_runtime.so is built with hidden visibility; what its public
// headers declare is exported with ROTARY_RUNTIME_API.
//
//===----------------------------------------------------------------------===//

#ifndef ROTARY_RUNTIME_EXPORT_H
#define ROTARY_RUNTIME_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define ROTARY_RUNTIME_API __attribute__((visibility("default")))
#else
#define ROTARY_RUNTIME_API
#endif

#endif // ROTARY_RUNTIME_EXPORT_H
