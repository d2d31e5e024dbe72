/*===- rotary_runtime.h - the C API of librotary_runtime -----------*- C -*-===*
 *
 * A small C API over the C++ runtime (rotary/Runtime/Runtime.h), for C
 * programs and for extensions (LibTorch, Python) that prefer a C boundary.
 *
 *   rotary_bundle *b;
 *   if (rotary_bundle_load("rope.rotary", &b) != ROTARY_OK) {
 *     fprintf(stderr, "%s\n", rotary_last_error());
 *     return 1;
 *   }
 *   int64_t shape[1] = {n};
 *   rotary_tensor x = {x_data, ROTARY_F32, ROTARY_DEVICE_CPU, 1, shape, NULL};
 *   rotary_tensor y = {y_data, ROTARY_F32, ROTARY_DEVICE_CPU, 1, shape, NULL};
 *   if (rotary_bundle_call(b, "add_one", &x, 1, &y, 1) != ROTARY_OK) ...
 *   rotary_bundle_free(b);
 *
 * Every function returns ROTARY_OK (0) or an error status; the message of the
 * last failure on the calling thread is rotary_last_error() (a successful
 * call clears it to ""). A bundle may be used from several threads at once.
 *
 *===----------------------------------------------------------------------===*/

#ifndef ROTARY_RUNTIME_ROTARY_RUNTIME_H
#define ROTARY_RUNTIME_ROTARY_RUNTIME_H

#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define ROTARY_C_API __attribute__((visibility("default")))
#else
#define ROTARY_C_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. */
enum {
  ROTARY_OK = 0,
  ROTARY_ERROR_LOAD = 1,     /* the bundle cannot be loaded */
  ROTARY_ERROR_ARGUMENT = 2, /* bad argument: entry, tensor, null pointer */
  ROTARY_ERROR_CHECK = 3,    /* the kernel reported a failed run-time check */
  ROTARY_ERROR_INTERNAL = 4, /* anything else */
  ROTARY_ERROR_DEVICE = 5    /* the GPU: no driver or device, a CUDA error */
};

/* Same order as rotary::bundle::DType. */
typedef enum rotary_dtype {
  ROTARY_F32 = 0,
  ROTARY_F16 = 1,
  ROTARY_BF16 = 2,
  ROTARY_F64 = 3,
  ROTARY_I32 = 4,
  ROTARY_I64 = 5
} rotary_dtype;

typedef enum rotary_device {
  ROTARY_DEVICE_CPU = 0,
  ROTARY_DEVICE_CUDA = 1
} rotary_device;

/* A view of a caller-owned tensor. */
typedef struct rotary_tensor {
  void *data;
  rotary_dtype dtype;
  rotary_device device;
  int32_t rank;
  const int64_t *shape;   /* `rank` sizes (may be NULL when rank == 0) */
  const int64_t *strides; /* `rank` strides in elements; NULL: row-major */
} rotary_tensor;

typedef struct rotary_bundle rotary_bundle;

/* Loads the bundle directory `dir`; on success stores a new handle in *out. */
ROTARY_C_API int rotary_bundle_load(const char *dir, rotary_bundle **out);

/* Releases a handle from rotary_bundle_load (NULL is allowed). */
ROTARY_C_API void rotary_bundle_free(rotary_bundle *bundle);

/* Checks the tensors against the manifest and runs `entry`: on the CPU, or
 * with the bundle's GPU code when the tensors are ROTARY_DEVICE_CUDA (device
 * memory, all on one GPU; queued on the legacy default stream). */
ROTARY_C_API int rotary_bundle_call(const rotary_bundle *bundle,
                                    const char *entry,
                                    const rotary_tensor *inputs, int n_in,
                                    const rotary_tensor *outputs, int n_out);

/* The shape output `output` of `entry` must have for these inputs: writes its
 * rank to *rank and, when it is at most `max_rank`, its sizes to `shape`. */
ROTARY_C_API int
rotary_bundle_output_shape(const rotary_bundle *bundle, const char *entry,
                           const rotary_tensor *inputs, int n_in, int output,
                           int64_t *shape, int max_rank, int *rank);

/* The message of the last failure on this thread ("" when none). Valid until
 * the next rotary_* call on the same thread. */
ROTARY_C_API const char *rotary_last_error(void);

/* What runs the kernels' parallel loops (rotary::runtime::setParallelFor):
 * `launcher` must call body(ctx, begin, end) over ranges that partition
 * [0, n), on any threads, and return when all have returned. NULL restores
 * the runtime's own (a libgomp team of ROTARY_NUM_THREADS threads, every
 * processor when unset). Applies to bundles loaded before and after. */
typedef void (*rotary_parallel_body)(void *ctx, int64_t begin, int64_t end);
typedef void (*rotary_parallel_for)(rotary_parallel_body body, void *ctx,
                                    int64_t n);
ROTARY_C_API void rotary_set_parallel_for(rotary_parallel_for launcher);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ROTARY_RUNTIME_ROTARY_RUNTIME_H */
