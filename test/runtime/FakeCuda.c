/* A stand-in for the CUDA driver library (libcuda.so.1) with the entry
 * points rotary::runtime::cuda::Driver uses, so that its every path runs
 * without a GPU. ROTARY_FAKE_CUDA picks the behaviour, read at each call:
 *   "stub"      every call returns CUDA_ERROR_STUB_LIBRARY and names
 *               nothing, as the CUDA toolkit's stub library does;
 *   "no-device" cuInit returns CUDA_ERROR_NO_DEVICE;
 *   "old"       cuInit returns CUDA_ERROR_INSUFFICIENT_DRIVER;
 *   otherwise   two devices, "Fake GPU 0" (9.0) and "Fake GPU 1" (8.0).
 * Built a second time with FAKE_CUDA_OLD_ABI, it lacks cuGetErrorString. */

#include <stdlib.h>
#include <string.h>

static const char *mode(void) {
  const char *m = getenv("ROTARY_FAKE_CUDA");
  return m ? m : "";
}

static int is(const char *m) { return strcmp(mode(), m) == 0; }

int cuInit(unsigned flags) {
  (void)flags;
  if (is("stub"))
    return 34;
  if (is("no-device"))
    return 100;
  if (is("old"))
    return 35;
  return 0;
}

int cuDriverGetVersion(int *v) {
  if (is("stub"))
    return 34;
  *v = 13000;
  return 0;
}

int cuDeviceGetCount(int *n) {
  if (is("stub"))
    return 34;
  *n = 2;
  return 0;
}

int cuDeviceGet(int *d, int ordinal) {
  if (ordinal < 0 || ordinal > 1)
    return 101;
  *d = ordinal;
  return 0;
}

int cuDeviceGetName(char *name, int len, int d) {
  const char *n = d == 0 ? "Fake GPU 0" : "Fake GPU 1";
  strncpy(name, n, (size_t)len);
  return 0;
}

int cuDeviceGetAttribute(int *value, int attribute, int d) {
  if (attribute == 75)
    *value = d == 0 ? 9 : 8;
  else if (attribute == 76)
    *value = 0;
  else
    return 1;
  return 0;
}

int cuGetErrorName(int result, const char **name) {
  if (is("stub"))
    return 34;
  if (result == 700) {
    *name = "CUDA_ERROR_ILLEGAL_ADDRESS";
    return 0;
  }
  return 1;
}

#ifndef FAKE_CUDA_OLD_ABI
int cuGetErrorString(int result, const char **text) {
  if (is("stub"))
    return 34;
  if (result == 700) {
    *text = "an illegal memory access was encountered";
    return 0;
  }
  return 1;
}
#endif
