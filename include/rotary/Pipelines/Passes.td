//===- Passes.td - passes of the rotary compilation pipelines -*- tablegen -*-===//

#ifndef ROTARY_PIPELINES_PASSES_TD
#define ROTARY_PIPELINES_PASSES_TD

include "mlir/Pass/PassBase.td"

def RotaryPrepareEntryPoints : Pass<"rotary-prepare-entry-points",
                                    "::mlir::ModuleOp"> {
  let summary = "Split every public function into a check and a "
                "destination-passing body";
  let description = [{
    For each public `func.func @f(inputs) -> results`:
    - `@f__check(inputs) -> i32` evaluates, from the inputs' sizes alone,
      every shape rule of its rotary ops that the IR leaves to the run time
      (the ops' RuntimeVerifiableOpInterface: the verifier's rules on the
      sizes of the run), and returns 0 or the 1-based number of the first
      rule broken; the messages go to `rotary.checks` on `@f`;
    - `@f(inputs, outputs)` writes each result into a caller-allocated
      output (`bufferization.materialize_in_destination`), so the kernel
      allocates nothing for its results; `rotary.outputs` on `@f` records
      each output size as a constant or as a size of an input.
    An output size that is not a function of the input sizes is an error.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::tensor::TensorDialect"];
}

def RotaryPackEntryPoints : Pass<"rotary-pack-entry-points",
                                 "::mlir::ModuleOp"> {
  let summary = "Emit the bundle ABI symbol of every entry point";
  let description = [{
    On the LLVM dialect: for each entry `@f` prepared by
    rotary-prepare-entry-points, emits `i32 @rotary_entry_f(ptr args)`, which
    loads the memref descriptor pointers from `args`, calls the check and
    returns its code when non-zero, else calls the body and returns 0 (the
    ABI of rotary/Bundle/Manifest.h).
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def RotaryCopiesToLinalg : Pass<"rotary-copies-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy";
  let description = [{
    memref.copy between buffers of non-identity layout lowers to a call of
    `memrefCopy` from MLIR's runner-utils library, which a deployed bundle
    must not need; linalg.copy lowers to plain loops.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def RotaryParallelizeOuterLoops : Pass<"rotary-parallelize-outer-loops"> {
  let summary = "Turn outermost linalg ops and scf.forall into scf.parallel";
  let description = [{
    Linalg ops at the top level of a function become scf.parallel loops over
    their parallel dimensions, and scf.forall becomes scf.parallel; linalg
    ops nested inside those stay sequential (convert-linalg-to-loops later),
    so convert-scf-to-openmp creates one parallel region per kernel step and
    never nested ones. A one-dimensional op's loop is cut into blocks, the
    parallel loop running over blocks. The innermost loop of an op whose
    iterations are all independent (every iterator parallel) gets a
    `loop_annotation` with `parallelAccesses`, which the code generator
    completes by putting the loop's memory accesses in that access group:
    LLVM then vectorises it without run-time overlap checks between the
    buffers, which would fail, and fall back to scalar code, when a kernel
    is called with an output that is also an input. An scf.parallel inside
    another (the threads of a tile in the GPU schedule, which the CPU runs
    to check its tiling) becomes sequential scf.for loops; one with
    reductions (a warp's lane sums) an scf.for carrying the partial
    results, combined by its reduction regions.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::scf::SCFDialect"];
}

def RotaryGpuCheckSchedulable : Pass<"rotary-gpu-check-schedulable",
                                     "::mlir::ModuleOp"> {
  let summary = "Refuse, by name, rotary ops the GPU schedule cannot take";
  let description = [{
    Runs before and after convert-rotary-to-linalg in rotary-gpu-pipeline.
    Before: ops whose lowering a GPU thread cannot run are refused by name,
    the exp form's matrix exponential with chunks over 8 (`so_generator`,
    its gradient, fused `hdd_rope` and its gradient), which scales and
    squares scratch matrices per matrix. After: the structured rotary ops
    the lowering leaves whole are tiled and decomposed by a target's
    schedule; each the GPU schedule has no tiles for (rotary-gpu-configure)
    is reported as having no GPU schedule yet, rather than failing later
    inside bufferization.
  }];
}

def RotaryGpuConfigure : Pass<"rotary-gpu-configure", "::mlir::func::FuncOp"> {
  let summary = "Record the GPU schedule's tiles on the structured rotary ops";
  let description = [{
    The GPU counterpart of rotary-cpu-configure: records on each structured
    op the GPU schedule takes the tiles rotary-tile-and-decompose cuts it
    into, as `rotary.tiles`. A tile becomes a block of threads
    (rotary-gpu-map-parallel-loops). `rotary.rope_tokens_grad` gets
    `{tokens}` tokens of one batch entry per tile (`rope-tokens`, 16 by
    default): each block writes one row of f64 partial sums of the
    parameter gradients, which a second kernel adds up.
    `rotary.rotation_scan` (cumulative_rotation, and the products of the
    HDD-RoPE gradient, which the GPU lowering runs unfused) gets `{block}`
    steps per block of its blocked scan (`scan-block`, 32 by default): one
    thread per (column, block of steps) multiplies its block's rotations,
    one thread per column scans the block totals, and every P_t is then
    one c×c product, so no thread walks the whole sequence. The fused
    HDD-RoPE, `rotary.hdd_rope_lanes`, gets the same `{block}`: its blocked
    scan computes each block's rotations from the angles in a thread's
    registers twice (for the totals, then from the carry, writing y), and
    never stores P. Attention (`rotary.online_attention`) and the two
    passes of its gradient get `{query, key}`, square tiles of
    `attention-tile` queries and keys (by default the largest of 32, 16, 8
    and 4 whose buffers, at a static head dimension D (32 for a dynamic
    one), fit in the 48 KiB of
    a block's shared memory): a block per (b, h, tile) runs
    FlashAttention's loop over the tiles of the other side in shared
    memory. A Givens chain (`rotary.givens_rows`) gets
    `{rows, row_threads = 1}`: a block per group of 64 rows (halved until
    its column-major tile [D, rows + 1], and with a matrix the product
    [rows, D], fit in 48 KiB), a thread per row running the whole chain.
    Its gradient (`rotary.givens_rows_grad`) gets `{rows, row_threads = 1,
    steps = 32}`: the same, walking the chain back in chunks of 32
    rotations whose terms of the angles' gradient a thread per rotation
    sums over the rows (rows halved until the x and ȳ tiles and a chunk's
    terms fit). An op that already has its tiles keeps them.
  }];
  let options = [
    Option<"ropeTokens", "rope-tokens", "int64_t", /*default=*/"16",
           "Tokens per tile of a rope gradient with parameter sums">,
    Option<"attentionTile", "attention-tile", "int64_t", /*default=*/"0",
           "Queries and keys per tile of attention and its gradient (0: "
           "the largest whose buffers fit in shared memory)">,
    Option<"scanBlock", "scan-block", "int64_t", /*default=*/"32",
           "Steps per block of a cumulative rotation's blocked scan">,
  ];
}

def RotaryGpuHoistParallelLoops : Pass<"rotary-gpu-hoist-parallel-loops",
                                       "::mlir::func::FuncOp"> {
  let summary = "Move a parallel loop out of the sequential loops around it";
  let description = [{
    Part of the GPU schedule, before loops are mapped to threads. Lowering
    a reduction to loops puts its reduced dimensions in `scf.for` loops
    around an `scf.parallel` over the kept ones (`for b { for t {
    parallel (i) { acc[i] += x[b, t, i] } } }`): mapped as it stands, each
    sequential iteration would be a kernel of its own. This pass swaps such
    a nest, one level at a time, into `parallel (i) { for b { for t { ...
    } } }`, so that each thread runs the sequential loops over its own
    elements.

    The swap is legal when no iteration of the parallel loop reads what
    another writes: every store in its body is indexed by all of the
    parallel induction variables directly, and a buffer that is stored to
    is loaded only at the indices of such a store, through the same view.
    Buffers with different roots (allocations, function arguments) are
    taken not to overlap, as everywhere else in the compiler. A nest that
    does not satisfy this, or that carries values (iter_args), is left
    alone; the mapping then reports it.

    Then, in every sequential loop, a location read and written at indices
    fixed across the loop (a thread's running sum) is kept in a register: loaded before the loop, carried as an iter_arg,
    stored after it, when every access of its buffer in the loop is that
    location, in the loop's own block.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def RotaryGpuLaneReductions : Pass<"rotary-gpu-lane-reductions",
                                   "::mlir::func::FuncOp"> {
  let summary = "Share a thread's long sum among the lanes of a warp";
  let description = [{
    Part of the GPU schedule, after rotary-gpu-hoist-parallel-loops. A
    thread of a one-thread-per-iteration loop that sums over a long
    sequential loop (`scf.for` whose only iter_arg is a float sum, `yield
    %acc + %x`, writing no memory and holding no loop) leaves the other
    threads of its warp idle and waits on one load per step. The loop
    becomes an `scf.parallel` over the 32 lanes of a warp with an
    `scf.reduce` sum, each lane adding every 32nd term from zero, and the
    initial value is added to the result:

    ```mlir
    %s = scf.for %j = %lb to %ub step %st iter_args(%a = %init) { ...
      %n = arith.addf %a, %x : f64
      scf.yield %n : f64 }
    // becomes
    %p = scf.parallel (%lane) = (0) to (32) step (1) init (%zero) -> f64 {
      %q = scf.for %j = %lb + %lane * %st to %ub step %st * 32
             iter_args(%a = %zero) { ... }
      scf.reduce(%q : f64) { ... arith.addf ... } }
    %s = arith.addf %init, %p : f64
    ```

    rotary-gpu-map-parallel-loops gives each iteration of such a loop a
    warp and combines the lanes' sums with shuffles (`gpu.shuffle xor`);
    on the CPU the lanes run one after the other. The sum is reassociated
    (lanes take interleaved terms). Loops with a known count below 64, and
    loops inside tiles (whose threads are already the block's), are left
    alone.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

def RotaryGpuVectorizeLoops : Pass<"rotary-gpu-vectorize-loops",
                                   "::mlir::ModuleOp"> {
  let summary = "Give element-wise loops a form on vectors along the "
                "innermost dimension, chosen at run time";
  let description = [{
    Part of the GPU schedule (rotary-gpu-pipeline), before loops are mapped
    to threads. An outermost `scf.parallel` whose body is element-wise along
    its innermost dimension (loads and stores indexed by it in their last
    index only, every other op element-wise) gets a second form in which an
    iteration handles `width` consecutive elements with `vector.load` /
    `vector.store` carrying their alignment, so that NVPTX emits 128-bit
    accesses (ld.global.v4 for f32). The vector form runs when the innermost
    count is a multiple of `width` and every buffer accessed along it is
    aligned for the vector at each of its rows (aligned first element, unit
    innermost stride, other strides multiples of `width`); otherwise the
    loop runs as it was. Values that do not depend on the innermost index
    stay scalar and are broadcast where they meet vectors. A loop the vector
    form cannot express is left alone.
  }];
  let options = [
    Option<"width", "width", "int64_t", /*default=*/"4",
           "Elements per vector (a power of 2)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def RotaryGpuCheckLibdevice : Pass<"rotary-gpu-check-libdevice",
                                   "::mlir::ModuleOp"> {
  let summary = "Refuse kernels that call libdevice when no CUDA toolkit "
                "was given";
  let description = [{
    Runs in rotary-gpu-pipeline after the kernels are lowered to NVVM. Math
    ops left as calls (the f64 `exp` of RoPE's frequency table) become
    calls of libdevice's `__nv_*` functions, which only the CUDA toolkit's
    libdevice defines; without it, serialisation leaves them unresolved and
    ptxas rejects the PTX. Without a toolkit (`has-toolkit` unset), each
    such call is an error that names the function and says how to give one.
  }];
  let options = [
    Option<"hasToolkit", "has-toolkit", "bool", /*default=*/"false",
           "Whether gpu-module-to-binary is given a CUDA toolkit">,
  ];
}

def RotaryGpuExternDynamicShared : Pass<"rotary-gpu-extern-dynamic-shared",
                                        "::mlir::ModuleOp"> {
  let summary = "Declare a kernel's dynamic shared memory as the PTX "
                "`.extern` array it is";
  let description = [{
    Runs in rotary-gpu-pipeline after the kernels are lowered to NVVM.
    `gpu.dynamic_shared_memory` becomes an internal zero-length array in
    the shared address space, which the NVPTX backend prints as a defined
    `.shared .b8 __dynamic_shmem__N;`: one byte of static shared memory,
    after which the driver places the launch's dynamic shared memory, so
    that the kernel's accesses from that byte on would run up to 16 bytes
    past the block's allocation. Giving the array external linkage makes it
    `.extern .shared .align 16 .b8 __dynamic_shmem__N[];`, the start of the
    dynamic shared memory itself.
  }];
}

def RotaryGpuMapParallelLoops : Pass<"rotary-gpu-map-parallel-loops",
                                     "::mlir::ModuleOp"> {
  let summary = "Map the loops of a host function to gpu.launch kernels";
  let description = [{
    The GPU schedule's last step before outlining (rotary-gpu-pipeline).
    Each outermost `scf.parallel` of a function becomes a `gpu.launch` of
    one-dimensional blocks:

    - without parallel loops inside it, one thread per iteration, in
      blocks of `block-size` threads; a thread's linear index is split into
      the loop's induction variables with the innermost one varying
      fastest, so consecutive threads touch consecutive elements of the
      contiguous dimension (coalesced accesses), and threads past the
      iteration count do nothing; when an iteration holds sums over a
      warp's lanes (rotary-gpu-lane-reductions), a warp per iteration,
      whose lanes combine their sums with `gpu.shuffle xor` (`block-size`
      must then be a multiple of 32);
    - with parallel loops in its body, or in sequential loops of its body
      (a tiled op: the outer loop runs over tiles; attention's loop over
      key tiles), one block per iteration, of `tile-block-size` threads;
      each inner parallel loop is run by the block's threads in turn
      (thread k takes iterations k, k + threads, ...), with a
      `gpu.barrier` between consecutive inner loops; every thread runs
      the sequential loops, with a barrier before each and at the end of
      every iteration. The tile's allocations become the block's shared
      memory (workgroup attributions, each dynamic size replaced by its
      constant bound, viewed at the actual size; at most 48 KiB in all),
      or, for a size with no bound that the host knows before the launch
      (a head dimension), views of the launch's dynamic shared memory at
      offsets the host computes, with their total as the launch's
      dynamic shared memory;
      its other ops that write memory and yield nothing run in thread 0
      between barriers; the rest must only compute.

    A loop with no iterations launches nothing. Calls stay on the host.
    Host code that reads or
    writes buffers outside any parallel loop (a loop adding up a few
    values, the load and store of a scalar result) runs as a kernel of one
    thread: a maximal run of such ops whose values stay within the run
    becomes one launch. Buffers the host code allocates become
    `gpu.alloc` / `gpu.dealloc`. Subviews of buffers that a kernel reads
    are made inside it, so that it takes the buffer rather than one
    argument per subview.

    What this schedule cannot map is an error that names the op: a
    parallel loop with reductions, a parallel loop inside a thread's
    sequential loop or deeper than one level, a tile's buffer whose size
    has no constant bound and is not known before the launch, static
    buffers beyond 48 KiB, a view of a tile's buffer
    other than a subview, a value a tile reads from memory outside its
    thread loops, or a value computed from device memory that the host
    needs.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block of a loop with one thread per iteration">,
    Option<"tileBlockSize", "tile-block-size", "int64_t", /*default=*/"64",
           "Threads per block of a loop with one block per iteration">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::scf::SCFDialect"];
}

def RotaryGpuMergeKernelModules : Pass<"rotary-gpu-merge-kernel-modules",
                                       "::mlir::ModuleOp"> {
  let summary = "Gather the outlined kernels into one gpu.module";
  let description = [{
    gpu-kernel-outlining makes one `gpu.module` per launch, each holding a
    kernel named after the function it came from. This pass moves every
    kernel into one module, `module-name`, renamed after the module it left
    (a unique name), and updates the launches: a bundle then carries one
    PTX (and one cubin) per chip, which the runtime loads once per context.
  }];
  let options = [
    Option<"moduleName", "module-name", "std::string",
           /*default=*/"\"rotary_kernels\"",
           "Name of the module that receives the kernels">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def RotaryGpuHostToRuntime : Pass<"rotary-gpu-host-to-runtime",
                                  "::mlir::ModuleOp"> {
  let summary = "Host-side GPU ops as calls of the runtime's hooks";
  let description = [{
    Runs on the host functions after upstream's `gpu-to-llvm`, which leaves
    `gpu.launch_func` with its kernel parameters expanded to LLVM values
    (memref descriptors field by field, as the kernel receives them) and
    leaves synchronous `gpu.alloc` / `gpu.dealloc` alone. Each becomes a
    call through a global the runtime sets when it loads the library
    (bundle ABI, rotary/Bundle/Manifest.h):

    - `gpu.alloc` (identity layout): `ptr rotary_gpu_alloc(i64 bytes)`,
      then the descriptor of the buffer;
    - `gpu.dealloc`: `void rotary_gpu_free(ptr)`;
    - `gpu.launch_func`: each parameter stored to a stack slot, the slots'
      addresses in an array (the driver's `kernelParams`), then
      `void rotary_gpu_launch(i32 kernel, i64 gx, gy, gz, i64 bx, by, bz,
      i32 shared_bytes, ptr params, i32 num_params)`.

    Kernels are numbered in the order of their names; the module records
    them in `rotary.gpu.kernels` (name, parameter types, block, dynamic
    shared memory), which the compiler writes to the manifest. Asynchronous
    launches, clusters, non-constant blocks and a kernel launched with two
    different signatures are errors.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def RotaryOutlineParallelLoops
    : Pass<"rotary-outline-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "Parallel loops as calls to the host's parallel-for";
  let description = [{
    Runs after the conversion to the LLVM dialect. Every omp.parallel holding
    one omp.wsloop (what convert-scf-to-openmp makes of the kernels'
    scf.parallel loops) becomes a call: the loop body is outlined into
    `void @F_parN(ptr ctx, i64 begin, i64 end)`, which runs iterations
    [begin, end) of the loop nest flattened to one index, the values it uses
    from the kernel are passed in a struct behind `ctx`, and the kernel
    calls the launcher in the global `rotary_parallel_for`,
    `void (*)(void (*body)(ptr, i64, i64), ptr ctx, i64 n)`, which the
    runtime sets when it loads the library (its own thread pool, or
    LibTorch's intra-op pool in the torch glue). While the global is null
    the body runs on the calling thread. So the kernels carry no OpenMP
    runtime of their own: in a training step they share the threads of the
    LibTorch ops around them instead of competing with a second pool.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def RotaryForwardOutputs : Pass<"rotary-forward-outputs",
                                "::mlir::func::FuncOp"> {
  let summary = "Compute into an output argument instead of copying to it";
  let description = [{
    After bufferization, `%a = memref.alloc` ... `memref.copy %a, %out` ...
    `memref.dealloc %a`, where `%out` is an argument of the function of the
    same type that nothing touches before the copy, becomes a computation
    straight into `%out` (what empty-tensor elimination misses when reshapes
    sit between the computation and the output).
  }];
}

def RotaryDropRoundTripCopies : Pass<"rotary-drop-round-trip-copies",
                                     "::mlir::func::FuncOp"> {
  let summary = "Drop a copy of a reshaped view into a buffer and back";
  let description = [{
    Bufferization copies a tile that was reshaped for its computation
    (`memref.expand_shape` of a strided view) into a fresh buffer when it
    cannot prove the inverse reshape of the view valid, and copies the
    buffer, reshaped back, into the view it came from:

    ```mlir
    %e = memref.expand_shape %s ...
    ... compute into %e ...
    %t = memref.alloc(...)
    memref.copy %e, %t
    %c = memref.collapse_shape %t ...   // the inverse of %e's reshape
    memref.copy %c, %s
    memref.dealloc %t
    ```

    Both copies together leave `%s` as it was: they, the buffer and its
    reshape are erased (in a GPU kernel the buffer would be an allocation
    per block). The second copy may target another subview of the same
    buffer at the same offsets and strides (the copy implies equal sizes).
    The same with collapse and expand swapped.
  }];
}

def RotaryContiguousExpandShape : Pass<"rotary-contiguous-expand-shape"> {
  let summary = "memref.expand_shape of contiguous buffers as reinterpret_cast";
  let description = [{
    MLIR 22.1's expand-strided-metadata crashes on a memref.expand_shape that
    splits a dynamic size into several dynamic sizes. For a source with the
    identity layout (allocations, function arguments) the result is simply
    the same buffer with the row-major strides of the new sizes, which this
    pass writes as memref.reinterpret_cast.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def RotaryInlineAllocaScopes : Pass<"rotary-inline-alloca-scopes"> {
  let summary = "Inline memref.alloca_scope regions that allocate nothing";
  let description = [{
    convert-scf-to-openmp wraps every parallel loop body in a
    memref.alloca_scope, which must stay a single block; lowering the loops
    nested in it to control flow would break that. A scope without
    memref.alloca in it frees nothing, so its body is inlined.
  }];
}


def RotaryApproximateMath : Pass<"rotary-approximate-math"> {
  let summary = "f32 exp and log as inline polynomials";
  let description = [{
    Rewrites f32 (and narrower) `math.exp` and `math.log` with MLIR's
    polynomial approximations (range reduction plus a minimax polynomial,
    within a few ulp of the correctly rounded result), so that kernels make
    no libm call per element and the surrounding loops vectorise. sin and
    cos are left alone: MLIR's scalar polynomials measured slower than
    libm's sincosf on the CPU and lose accuracy on large angles (the lane
    kernels use their own f64-reduced sin/cos; the GPU libdevice's). f64
    math is left to libm (the HDD-RoPE exponential needs it, decision
    0019).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::math::MathDialect"];
}

def RotaryCpuConfigure : Pass<"rotary-cpu-configure", "::mlir::func::FuncOp"> {
  let summary = "Choose the CPU schedule of every structured kernel";
  let description = [{
    The first half of the CPU schedule. The lowering to linalg leaves whole
    kernels as structured ops with no tile size, vector width or thread count
    in them; this pass decides those for the CPU and records them on each op
    it can schedule as a `rotary.cpu_schedule` dictionary, which
    rotary-cpu-schedule then applies. Today it schedules matmul-like
    contractions (one reduction dimension, the output's last dimension
    contiguous in the right-hand operand):

    - `rows_per_task`: rows of the left operand per parallel task; 0 for a
      contraction inside a kernel's own loops (an attention tile), which is
      already one task's work and gets register blocks only;
    - `register_rows` × `register_cols`: the accumulator block kept in
      vector registers, `register_cols` a multiple of the vector width;
    - `tail_cols` (only for an output width the blocks may not divide: a
      run-time width, or a static one that is not a multiple): the column
      remainder is tiled again into blocks of that many columns (one
      vector), so that fewer than `tail_cols` columns run as scalar code.

    A contraction inside a kernel's loop whose rows are at most E (static,
    or an upper bound proven by MLIR's value-bounds analysis) gets the
    largest of 6, 5, 4 register rows that divides E. A 2-d f32
    `linalg.transpose` inside a kernel's loop gets `{kind = "transpose",
    block}` (one vector: 16 with AVX-512).

    It also records on every structured op the tiles that
    rotary-tile-and-decompose tiles and decomposes it with: on
    rotary.online_attention and the two passes of its gradient
    `rotary.tiles = {query, key}` (the rows and columns of each tile pair's
    contractions), 8 register blocks of rows and keys in whole register
    blocks of at least 64; on rotary.hdd_rope_lanes and its gradient the
    chunks per task (`rotary.tiles = {lanes}`: 128 for c ≤ 4, fewer for
    larger c so that the task's c×c matrices stay within 8 KB). An op that
    already has its tiles keeps them; the lowering and the decomposition
    carry no tile size of their own for these.

    One fusion: the attention gradient's query and key passes over the same
    operands become one `rotary.online_attention_grad`, one task per (b, h)
    (per h with a bias or a span), which makes every pair's scores, weights
    and s̄ once where the two passes make them twice (five products per
    pair instead of seven). The two passes have more parallelism (tasks of
    `query` rows or keys); `split-attention-grad` keeps them, for machines
    with more cores than B·H.

    The sizes come from the vector width of the target (`vector-bits`, which
    the compiler reads from the CPU it compiles for: 512 with AVX-512, 256
    with AVX2) and can be overridden for experiments.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", /*default=*/"512",
           "Width in bits of the target's vector registers (128, 256, 512)">,
    Option<"registerRows", "register-rows", "int64_t", /*default=*/"0",
           "Rows of the register block (0: from the vector width)">,
    Option<"registerCols", "register-cols", "int64_t", /*default=*/"0",
           "Columns of the register block (0: from the vector width)">,
    Option<"rowsPerTask", "rows-per-task", "int64_t", /*default=*/"0",
           "Rows per parallel task (0: 16 register blocks)">,
    Option<"attentionQueryTile", "attention-query-tile", "int64_t",
           /*default=*/"0",
           "Queries per attention tile (0: 8 register blocks of rows)">,
    Option<"attentionKeyTile", "attention-key-tile", "int64_t",
           /*default=*/"0",
           "Keys per attention tile (0: whole register blocks, at least 64)">,
    Option<"hddLanes", "hdd-lanes", "int64_t", /*default=*/"0",
           "Chunks per task of fused Givens-form HDD-RoPE (0: from c)">,
    Option<"hddCheckpoint", "hdd-checkpoint", "int64_t", /*default=*/"0",
           "Tokens between saved P in the backward of fused Givens-form "
           "HDD-RoPE (0: 64)">,
    Option<"chainRows", "chain-rows", "int64_t", /*default=*/"0",
           "Rows per group of a Givens chain, the length of its feature "
           "vectors (0: four vector registers)">,
    Option<"ropeTokens", "rope-tokens", "int64_t", /*default=*/"0",
           "Tokens per task of a rope gradient with parameter gradients "
           "(0: 16)">,
    Option<"scanBlock", "scan-block", "int64_t", /*default=*/"0",
           "Steps per block of the blocked scan of cumulative_rotation "
           "(0: 64)">,
    Option<"splitAttentionGrad", "split-attention-grad", "bool",
           /*default=*/"false",
           "Keep the attention gradient's query and key passes apart "
           "(default: fused into one pass per (b, h))">,
  ];
}

def RotaryCpuSchedule : Pass<"rotary-cpu-schedule", "::mlir::func::FuncOp"> {
  let summary = "Apply the CPU schedules chosen by rotary-cpu-configure";
  let description = [{
    For every op carrying a `rotary.cpu_schedule`: tiles its rows into
    parallel tasks (scf.forall, fusing the producer of its destination such
    as the zero fill), drops the unit dimensions of a task's tile, tiles the
    task into register blocks with the reduction innermost, peels the row
    and column loops so that full blocks have static sizes (and, with
    `tail_cols`, tiles and peels the column remainder of the full rows
    again into one-vector blocks), vectorises every full block and keeps
    the accumulator in registers across the reduction loop; remainder
    blocks stay scalar (marked `rotary.scalar_loops` for
    rotary-scalar-loops). Contractions end as one broadcast FMA per row of
    the block, the left operand read as one scalar and one splat per row.
    A transpose is tiled into `block` x `block` squares (rows, then the
    full rows' columns, each peeled); full squares become a read, a
    shuffle network and a write, the remainders stay scalar.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::affine::AffineDialect",
                           "::mlir::math::MathDialect"];
}

def RotaryScalarLoops : Pass<"rotary-scalar-loops"> {
  let summary = "The CPU schedule's scalar remainders as loops LLVM leaves "
                "scalar";
  let description = [{
    Lowers the linalg ops rotary-cpu-schedule left scalar (attribute
    `rotary.scalar_loops`: a contraction's remainder rows, fewer than a
    register block's, and column remainders narrower than a vector, with
    their fills) to scf.for loops whose `loop_annotation` disables LLVM's
    vectoriser. They run once per task on a few rows or columns, so a
    vector version gains nothing at run time, while LLVM's vector body,
    epilogue and run-time checks for each were a large share of a
    kernel's compile time. Other linalg ops are left to
    convert-linalg-to-loops.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

#endif // ROTARY_PIPELINES_PASSES_TD
