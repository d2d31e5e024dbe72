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
  const char *cc = getenv("ROTARY_FAKE_CUDA_CC");
  int cc0 = cc && *cc ? atoi(cc) : 90;
  if (attribute == 75)
    *value = d == 0 ? cc0 / 10 : 8;
  else if (attribute == 76)
    *value = d == 0 ? cc0 % 10 : 0;
  else if (attribute == 97) /* shared memory per block, opted in: an H100's */
    *value = 232448;
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

/* ---- The GPU path: contexts, memory, modules and launches. ----
 * Device memory is host memory from malloc, remembered so that
 * cuPointerGetAttribute knows it. A module is the image's bytes; a kernel
 * is found by its name in them (".entry NAME(" in PTX, the symbol name in
 * a cubin). A launch runs nothing: it is appended to a log that
 * fake_cuda_log() returns, one line per call:
 *   load ptx|cubin
 *   launch NAME grid=X,Y,Z block=X,Y,Z shared=N params=P
 * with P the parameter count the PTX declares (0 for a cubin); each
 * pointer-sized parameter equal to the start of no fake allocation is
 * fine (sizes and strides), so only the count is checked there. With
 * ROTARY_FAKE_CUDA_CC=86 the first device reports compute capability 8.6;
 * with ROTARY_FAKE_CUDA_OLD_CUBIN set, cubins are refused as a driver older
 * than their toolkit refuses them (logged "refuse cubin", with a JIT error
 * log). */

#include <stdint.h>
#include <stdio.h>

static char fake_log[1 << 16];
static size_t fake_log_used;

static void log_line(const char *line) {
  size_t n = strlen(line);
  if (fake_log_used + n + 2 > sizeof fake_log)
    return;
  memcpy(fake_log + fake_log_used, line, n);
  fake_log_used += n;
  fake_log[fake_log_used++] = '\n';
  fake_log[fake_log_used] = '\0';
}

const char *fake_cuda_log(void) { return fake_log; }
void fake_cuda_clear_log(void) {
  fake_log_used = 0;
  fake_log[0] = '\0';
}

#define MAX_ALLOCS 1024
static struct {
  char *base;
  size_t bytes;
} allocs[MAX_ALLOCS];

static int find_alloc(uint64_t p) {
  for (int i = 0; i < MAX_ALLOCS; ++i)
    if (allocs[i].base && p >= (uint64_t)(uintptr_t)allocs[i].base &&
        p < (uint64_t)(uintptr_t)allocs[i].base + allocs[i].bytes + 1)
      return i;
  return -1;
}

int cuMemAlloc_v2(uint64_t *p, size_t bytes) {
  for (int i = 0; i < MAX_ALLOCS; ++i)
    if (!allocs[i].base) {
      allocs[i].base = calloc(1, bytes ? bytes : 1);
      allocs[i].bytes = bytes;
      *p = (uint64_t)(uintptr_t)allocs[i].base;
      return 0;
    }
  return 2;
}

int cuMemFree_v2(uint64_t p) {
  int i = find_alloc(p);
  if (i < 0 || (uint64_t)(uintptr_t)allocs[i].base != p)
    return 1;
  free(allocs[i].base);
  allocs[i].base = NULL;
  return 0;
}

int cuMemAllocAsync(uint64_t *p, size_t bytes, void *stream) {
  (void)stream;
  return cuMemAlloc_v2(p, bytes);
}

int cuMemFreeAsync(uint64_t p, void *stream) {
  (void)stream;
  return cuMemFree_v2(p);
}

int cuMemcpyHtoD_v2(uint64_t dst, const void *src, size_t bytes) {
  if (find_alloc(dst) < 0)
    return 1;
  memcpy((void *)(uintptr_t)dst, src, bytes);
  return 0;
}

int cuMemcpyDtoH_v2(void *dst, uint64_t src, size_t bytes) {
  if (find_alloc(src) < 0)
    return 1;
  memcpy(dst, (const void *)(uintptr_t)src, bytes);
  return 0;
}

int cuMemcpyDtoD_v2(uint64_t dst, uint64_t src, size_t bytes) {
  if (find_alloc(dst) < 0 || find_alloc(src) < 0)
    return 1;
  memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, bytes);
  return 0;
}

int cuPointerGetAttribute(void *value, int attribute, uint64_t p) {
  if (find_alloc(p) < 0)
    return 1; /* CUDA_ERROR_INVALID_VALUE, as for unknown host memory */
  if (attribute == 2)
    *(unsigned *)value = 2; /* CU_MEMORYTYPE_DEVICE */
  else if (attribute == 9)
    *(int *)value = 0;
  else
    return 1;
  return 0;
}

static int fake_ctx[2];
static void *current_ctx;

int cuCtxGetCurrent(void **ctx) {
  *ctx = current_ctx;
  return 0;
}

int cuCtxGetDevice(int *d) {
  if (!current_ctx)
    return 201; /* CUDA_ERROR_INVALID_CONTEXT */
  *d = (int)((int *)current_ctx - fake_ctx);
  return 0;
}

int cuDevicePrimaryCtxRetain(void **ctx, int d) {
  if (d < 0 || d > 1)
    return 101;
  *ctx = &fake_ctx[d];
  return 0;
}

static void *ctx_stack[16];
static int ctx_depth;

int cuCtxPushCurrent_v2(void *ctx) {
  if (ctx_depth == 16)
    return 1;
  ctx_stack[ctx_depth++] = current_ctx;
  current_ctx = ctx;
  return 0;
}

int cuCtxPopCurrent_v2(void **ctx) {
  if (ctx_depth == 0)
    return 201;
  if (ctx)
    *ctx = current_ctx;
  current_ctx = ctx_stack[--ctx_depth];
  return 0;
}

struct fake_module {
  char *image;
  size_t size;
  int is_cubin;
};

struct fake_function {
  struct fake_module *module;
  char name[128];
  int params;
  int max_dynamic_shared; /* 0: the default 48 KiB */
};

int cuModuleLoadDataEx(void **module, const void *image, unsigned n,
                       int *options, void **values) {
  if (!current_ctx)
    return 201;
  const char *bytes = image;
  if (memcmp(bytes, "\177ELF", 4) == 0 &&
      getenv("ROTARY_FAKE_CUDA_OLD_CUBIN")) {
    for (unsigned i = 0; i < n; ++i)
      if (options[i] == 5) /* CU_JIT_ERROR_LOG_BUFFER */
        snprintf((char *)values[i], 64, "fake: the cubin is too new");
    log_line("refuse cubin");
    return 200; /* CUDA_ERROR_INVALID_IMAGE */
  }
  struct fake_module *m = calloc(1, sizeof *m);
  m->is_cubin = memcmp(bytes, "\177ELF", 4) == 0;
  /* A cubin's size is in its ELF header; PTX is NUL-terminated text. */
  m->size = m->is_cubin ? (size_t)1 << 20 : strlen(bytes);
  if (m->is_cubin) {
    uint64_t shoff;
    uint16_t shentsize, shnum;
    memcpy(&shoff, bytes + 0x28, 8);
    memcpy(&shentsize, bytes + 0x3A, 2);
    memcpy(&shnum, bytes + 0x3C, 2);
    m->size = (size_t)(shoff + (uint64_t)shentsize * shnum);
  }
  m->image = malloc(m->size + 1);
  memcpy(m->image, bytes, m->size);
  m->image[m->size] = '\0';
  log_line(m->is_cubin ? "load cubin" : "load ptx");
  *module = m;
  return 0;
}

int cuModuleUnload(void *module) {
  struct fake_module *m = module;
  free(m->image);
  free(m);
  return 0;
}

static const char *find_bytes(const char *hay, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; ++i)
    if (memcmp(hay + i, needle, k) == 0)
      return hay + i;
  return NULL;
}

int cuModuleGetFunction(void **fn, void *module, const char *name) {
  struct fake_module *m = module;
  char needle[160];
  struct fake_function *f = calloc(1, sizeof *f);
  f->module = m;
  snprintf(f->name, sizeof f->name, "%s", name);
  if (m->is_cubin) {
    snprintf(needle, sizeof needle, "%s", name);
    /* the symbol name, NUL-terminated on both sides */
    const char *at = find_bytes(m->image, m->size, needle);
    while (at && !(at > m->image && at[-1] == '\0' && at[strlen(name)] == '\0'))
      at = find_bytes(at + 1, m->size - (size_t)(at + 1 - m->image), needle);
    if (!at) {
      free(f);
      return 500; /* CUDA_ERROR_NOT_FOUND */
    }
  } else {
    snprintf(needle, sizeof needle, ".entry %s(", name);
    const char *at = find_bytes(m->image, m->size, needle);
    if (!at) {
      free(f);
      return 500;
    }
    const char *end = strchr(at, ')');
    for (const char *p = at; p && p < end; p = strstr(p + 1, ".param"))
      if (p != at)
        ++f->params;
  }
  *fn = f;
  return 0;
}

int cuFuncGetAttribute(int *value, int attribute, void *fn) {
  if (!fn)
    return 1;
  if (attribute != 1) /* CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES */
    return 1;
  /* Every kernel's static shared memory: 0, or what a test asks for. */
  const char *bytes = getenv("ROTARY_FAKE_CUDA_STATIC_SHARED");
  *value = bytes && *bytes ? atoi(bytes) : 0;
  return 0;
}

int cuFuncSetAttribute(void *fn, int attribute, int value) {
  struct fake_function *f = fn;
  if (!f || attribute != 8 || value < 0 || value > 232448)
    return 1; /* CUDA_ERROR_INVALID_VALUE */
  f->max_dynamic_shared = value;
  char line[256];
  snprintf(line, sizeof line, "attribute %s max_dynamic_shared=%d", f->name,
           value);
  log_line(line);
  return 0;
}

int cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                   unsigned by, unsigned bz, unsigned shared, void *stream,
                   void **params, void **extra) {
  (void)stream;
  (void)extra;
  struct fake_function *f = fn;
  if (!current_ctx || !f)
    return 201;
  if (gx == 0 || gy == 0 || gz == 0 || bx * by * bz > 1024)
    return 1;
  /* As the driver: static and dynamic beyond 48 KiB only after opting
     in, and then the dynamic part up to the kernel's raised limit. */
  int static_bytes = 0;
  cuFuncGetAttribute(&static_bytes, 1, f);
  if (f->max_dynamic_shared ? shared > (unsigned)f->max_dynamic_shared
                            : shared + (unsigned)static_bytes > 48 * 1024)
    return 1;
  /* Touch every parameter, as the driver copies them. */
  volatile char sink = 0;
  for (int i = 0; i < f->params; ++i)
    sink ^= *(const char *)params[i];
  (void)sink;
  char line[256];
  snprintf(line, sizeof line,
           "launch %s grid=%u,%u,%u block=%u,%u,%u shared=%u params=%d",
           f->name, gx, gy, gz, bx, by, bz, shared, f->params);
  log_line(line);
  return 0;
}

int cuStreamSynchronize(void *stream) {
  (void)stream;
  return 0;
}
