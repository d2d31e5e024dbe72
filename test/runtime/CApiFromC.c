/* The C API used from C (compiled as C99, not C++): load the test bundle,
 * run add_one, see an argument error and a check failure. Called by
 * CApiTest.cpp; returns 0, or the line of the first failed expectation with
 * a message in `message`. */

#include "rotary/Runtime/rotary_runtime.h"

#include <stdio.h>
#include <string.h>

#define EXPECT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) {                                                             \
      snprintf(message, size, "%s (last error: %s)", #cond,                    \
               rotary_last_error());                                           \
      rotary_bundle_free(bundle);                                              \
      return __LINE__;                                                         \
    }                                                                          \
  } while (0)

int rotary_test_c_api(const char *dir, char *message, size_t size) {
  rotary_bundle *bundle = NULL;
  float x[4] = {1, 2, 3, 4}, y[4] = {0, 0, 0, 0};
  double wrong[4] = {0, 0, 0, 0};
  int64_t shape[1] = {4}, strides[1] = {1}, three[1] = {3};
  int64_t out_shape[4] = {0, 0, 0, 0};
  int out_rank = -1;
  rotary_tensor in = {x, ROTARY_F32, ROTARY_DEVICE_CPU, 1, shape, strides};
  rotary_tensor out = {y, ROTARY_F32, ROTARY_DEVICE_CPU, 1, shape, NULL};
  rotary_tensor bad = {wrong, ROTARY_F64, ROTARY_DEVICE_CPU, 1, shape, NULL};
  rotary_tensor ab[2] = {{x, ROTARY_F32, ROTARY_DEVICE_CPU, 1, shape, NULL},
                         {x, ROTARY_F32, ROTARY_DEVICE_CPU, 1, three, NULL}};

  EXPECT(rotary_bundle_load(dir, &bundle) == ROTARY_OK);
  EXPECT(bundle != NULL);
  EXPECT(strcmp(rotary_last_error(), "") == 0);

  EXPECT(rotary_bundle_output_shape(bundle, "add_one", &in, 1, 0, out_shape, 4,
                                    &out_rank) == ROTARY_OK);
  EXPECT(out_rank == 1 && out_shape[0] == 4);

  EXPECT(rotary_bundle_call(bundle, "add_one", &in, 1, &out, 1) == ROTARY_OK);
  EXPECT(y[0] == 2 && y[3] == 5);

  EXPECT(rotary_bundle_call(bundle, "add_one", &bad, 1, &out, 1) ==
         ROTARY_ERROR_ARGUMENT);
  EXPECT(strstr(rotary_last_error(), "argument 'x' must be f32, got f64"));

  EXPECT(rotary_bundle_call(bundle, "checked_add", ab, 2, &out, 1) ==
         ROTARY_ERROR_CHECK);
  EXPECT(strstr(rotary_last_error(), "a and b must have the same size"));

  rotary_bundle_free(bundle);
  return 0;
}
