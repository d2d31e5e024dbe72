// RUN: rotary-opt %s -rotary-gpu-map-parallel-loops -split-input-file -verify-diagnostics
// RUN: not rotary-opt %s -rotary-gpu-map-parallel-loops=block-size=2048 2>&1 | FileCheck %s --check-prefix=SIZE
// RUN: not rotary-opt %s -rotary-gpu-map-parallel-loops=tile-block-size=0 2>&1 | FileCheck %s --check-prefix=TILE

// What the GPU schedule cannot map, each named on its op; and blocks
// outside CUDA's 1 to 1024 threads.
// SIZE: error: rotary-gpu-map-parallel-loops: block-size 2048 is not in [1, 1024]
// TILE: error: rotary-gpu-map-parallel-loops: tile-block-size 0 is not in [1, 1024]

func.func @reduction(%a: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  // expected-error @+1 {{rotary-gpu-pipeline: a parallel loop with reductions has no GPU mapping yet}}
  %s = scf.parallel (%i) = (%c0) to (%c8) step (%c1) init (%z) -> f32 {
    %v = memref.load %a[%i] : memref<8xf32>
    scf.reduce(%v : f32) {
    ^bb0(%x: f32, %y: f32):
      %r = arith.addf %x, %y : f32
      scf.reduce.return %r : f32
    }
  }
  return %s : f32
}

// -----

func.func @too_deep(%a: memref<8x8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      // expected-error @+1 {{rotary-gpu-pipeline: parallel loops nested deeper than tiles and their threads have no GPU mapping yet}}
      scf.parallel (%k) = (%c0) to (%c8) step (%c1) {
        memref.store %z, %a[%i, %j, %k] : memref<8x8x8xf32>
        scf.reduce
      }
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

func.func @parallel_in_sequential(%a: memref<8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  // A tile's sequential loop holds thread loops; a thread's does not.
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    scf.parallel (%t) = (%c0) to (%c8) step (%c1) {
      scf.for %k = %c0 to %c8 step %c1 {
        // expected-error @+1 {{rotary-gpu-pipeline: a parallel loop inside a sequential loop of a kernel has no GPU mapping yet}}
        scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
          memref.store %z, %a[%i, %j] : memref<8x8xf32>
          scf.reduce
        }
      }
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// A tile's buffers are shared memory: their sizes need constant bounds,
// or values the host knows before the launch (not one that varies from
// tile to tile).
func.func @tile_buffer_unbounded(%a: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %n = memref.dim %a, %c0 : memref<?xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %m = arith.addi %i, %c1 : index
    // expected-error @+1 {{rotary-gpu-pipeline: a tile's buffer needs sizes with constant bounds or known before the launch to be shared memory}}
    %buf = memref.alloc(%m) : memref<?xf32>
    scf.parallel (%j) = (%c0) to (%m) step (%c1) {
      memref.store %z, %buf[%j] : memref<?xf32>
      scf.reduce
    }
    memref.dealloc %buf : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// ... and to fit in a block's static shared memory.
func.func @tile_buffers_too_large(%a: memref<8x128x128xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c128 = arith.constant 128 : index
  %z = arith.constant 0.0 : f32
  // expected-error @+1 {{rotary-gpu-pipeline: a tile's buffers take 65536 bytes of shared memory, more than the 49152 a block has: record smaller tiles}}
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %buf = memref.alloc() : memref<128x128xf32>
    scf.parallel (%j, %k) = (%c0, %c0) to (%c128, %c128) step (%c1, %c1) {
      memref.store %z, %buf[%j, %k] : memref<128x128xf32>
      scf.reduce
    }
    scf.parallel (%j, %k) = (%c0, %c0) to (%c128, %c128) step (%c1, %c1) {
      %v = memref.load %buf[%j, %k] : memref<128x128xf32>
      memref.store %v, %a[%i, %j, %k] : memref<8x128x128xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// Views of a tile's buffer are retyped as views of shared memory: only
// subviews, the views the tiles make.
func.func @tile_buffer_collapsed(%a: memref<8x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %z = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    %buf = memref.alloc() : memref<4x4xf32>
    // expected-error @+1 {{rotary-gpu-pipeline: a view of a tile's buffer other than a subview has no GPU mapping yet}}
    %flat = memref.collapse_shape %buf [[0, 1]] : memref<4x4xf32> into memref<16xf32>
    scf.parallel (%j) = (%c0) to (%c16) step (%c1) {
      memref.store %z, %flat[%j] : memref<16xf32>
      scf.reduce
    }
    scf.parallel (%j) = (%c0) to (%c16) step (%c1) {
      %v = memref.load %flat[%j] : memref<16xf32>
      memref.store %v, %a[%i, %j] : memref<8x16xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// A tile's own store is one thread's step; a value it loads would be
// every thread's.
func.func @tile_load(%a: memref<8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    // expected-error @+1 {{rotary-gpu-pipeline: a value a tile reads from memory outside its parallel loops has no GPU mapping yet}}
    %v = memref.load %a[%i, %c0] : memref<8x8xf32>
    scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
      memref.store %v, %a[%i, %j] : memref<8x8xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

func.func @host_needs_value(%a: memref<8xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{rotary-gpu-pipeline: the host needs this value, computed from device memory}}
  %v = memref.load %a[%c0] : memref<8xf32>
  return %v : f32
}

// -----

func.func @host_store(%a: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %z = arith.constant 0.0 : f32
  // A store beside a kernel in a host loop cannot become a kernel itself.
  scf.for %k = %c0 to %c8 step %c1 {
    scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
      memref.store %z, %a[%i] : memref<8xf32>
      scf.reduce
    }
    // expected-error @+1 {{rotary-gpu-pipeline: 'memref.store' outside a kernel would read or write device memory from the host}}
    memref.store %z, %a[%k] : memref<8xf32>
  }
  return
}
