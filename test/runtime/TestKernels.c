/* Hand-written kernels following the bundle ABI of rotary/Bundle/Manifest.h
 * (int32_t SYMBOL(void **args), one strided memref descriptor per tensor),
 * so the runtime is tested without the compiler. The manifest describing
 * them is written by the tests (TestSupport.h). */

#include <stdint.h>

typedef struct {
  float *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} MemRefF32x1;

typedef struct {
  int32_t *allocated, *aligned;
  int64_t offset, sizes[3], strides[3];
} MemRefI32x3;

typedef struct {
  int64_t *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} MemRefI64x1;

typedef struct {
  int64_t *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} MemRefI64x2;

typedef struct {
  double *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} MemRefF64x2;

typedef struct {
  double *allocated, *aligned;
  int64_t offset;
} MemRefF64x0;

/* add_one(x: f32 [?]) -> y: f32 [x.0] */
int32_t rotary_test_add_one(void **args) {
  const MemRefF32x1 *x = args[0], *y = args[1];
  for (int64_t i = 0; i < x->sizes[0]; ++i)
    y->aligned[y->offset + i * y->strides[0]] =
        x->aligned[x->offset + i * x->strides[0]] + 1.0f;
  return 0;
}

/* checked_add(a: f32 [?], b: f32 [?]) -> c: f32 [a.0]
 * check 1: a and b have the same size. */
int32_t rotary_test_checked_add(void **args) {
  const MemRefF32x1 *a = args[0], *b = args[1], *c = args[2];
  if (a->sizes[0] != b->sizes[0])
    return 1;
  for (int64_t i = 0; i < a->sizes[0]; ++i)
    c->aligned[c->offset + i * c->strides[0]] =
        a->aligned[a->offset + i * a->strides[0]] +
        b->aligned[b->offset + i * b->strides[0]];
  return 0;
}

/* inspect(x: i32 [?, ?, ?]) -> d: i64 [9]: reports the descriptor it got. */
int32_t rotary_test_inspect(void **args) {
  const MemRefI32x3 *x = args[0];
  const MemRefI64x1 *d = args[1];
  int64_t *out = d->aligned + d->offset;
  out[0] = x->allocated == x->aligned;
  out[1] = x->offset;
  for (int i = 0; i < 3; ++i) {
    out[2 + i] = x->sizes[i];
    out[5 + i] = x->strides[i];
  }
  out[8] = (x->sizes[0] * x->sizes[1] * x->sizes[2] != 0) ? x->aligned[0] : -1;
  return 0;
}

/* scale(x: f64 [2, 3], s: f64 []) -> y: f64 [2, 3], total: f64 [] */
int32_t rotary_test_scale(void **args) {
  const MemRefF64x2 *x = args[0], *y = args[2];
  const MemRefF64x0 *s = args[1], *total = args[3];
  double sum = 0;
  for (int64_t i = 0; i < x->sizes[0]; ++i)
    for (int64_t j = 0; j < x->sizes[1]; ++j) {
      double v = x->aligned[x->offset + i * x->strides[0] + j * x->strides[1]] *
                 s->aligned[s->offset];
      y->aligned[y->offset + i * y->strides[0] + j * y->strides[1]] = v;
      sum += v;
    }
  total->aligned[total->offset] = sum;
  return 0;
}

/* row_sums(x: i64 [?, 4]) -> y: i64 [x.0] */
int32_t rotary_test_row_sums(void **args) {
  const MemRefI64x2 *x = args[0];
  const MemRefI64x1 *y = args[1];
  for (int64_t i = 0; i < x->sizes[0]; ++i) {
    int64_t sum = 0;
    for (int64_t j = 0; j < x->sizes[1]; ++j)
      sum += x->aligned[x->offset + i * x->strides[0] + j * x->strides[1]];
    y->aligned[y->offset + i * y->strides[0]] = sum;
  }
  return 0;
}

/* A kernel reporting a check the manifest does not list, and one returning
 * an invalid (negative) status. */
int32_t rotary_test_status_7(void **args) {
  (void)args;
  return 7;
}

int32_t rotary_test_status_negative(void **args) {
  (void)args;
  return -2;
}

/* The launcher slot of the bundle ABI (Manifest.h), which the runtime fills
 * when it loads the library; parallel_double runs its loop through it the
 * way compiled kernels do (rotary-outline-parallel-loops). */
typedef void (*ParallelBody)(void *ctx, int64_t begin, int64_t end);
typedef void (*ParallelFor)(ParallelBody body, void *ctx, int64_t n);
ParallelFor rotary_parallel_for = 0;

static void doubleRange(void *ctx, int64_t begin, int64_t end) {
  void **args = ctx;
  const MemRefF32x1 *x = args[0], *y = args[1];
  for (int64_t i = begin; i < end; ++i)
    y->aligned[y->offset + i * y->strides[0]] =
        2.0f * x->aligned[x->offset + i * x->strides[0]];
}

/* parallel_double(x: f32 [?]) -> y: f32 [x.0] */
int32_t rotary_test_parallel_double(void **args) {
  const MemRefF32x1 *x = args[0];
  if (rotary_parallel_for)
    rotary_parallel_for(doubleRange, args, x->sizes[0]);
  else
    doubleRange(args, 0, x->sizes[0]);
  return 0;
}
